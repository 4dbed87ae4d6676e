import type { Admin } from 'kafkajs';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Assignment } from '../../../../platform/consumer/group-tracker.ts';
import { LagMonitor, lagOf } from '../../../../platform/consumer/lag-monitor.ts';
import { silentLogger } from './fixtures.ts';

describe('lagOf', () => {
  it('is the end offset minus the committed offset', () => {
    expect(lagOf({ high: '100', low: '0' }, '40')).toBe(60);
    expect(lagOf({ high: '100', low: '0' }, '100')).toBe(0);
  });

  it('counts from the partition start when nothing is committed', () => {
    expect(lagOf({ high: '100', low: '30' }, undefined)).toBe(70);
    expect(lagOf({ high: '100', low: '30' }, '-1')).toBe(70);
  });

  it('is never negative', () => {
    expect(lagOf({ high: '100', low: '0' }, '120')).toBe(0);
    expect(lagOf({ high: '0', low: '0' }, undefined)).toBe(0);
  });

  it('works on offsets beyond 2^53', () => {
    expect(lagOf({ high: '9007199254740999', low: '0' }, '9007199254740993')).toBe(6);
  });
});

type Ends = Record<number, { high: string; low?: string }>;

/** An admin answering fetchTopicOffsets and fetchOffsets from tables the test changes; `failing` rejects both. */
function fakeAdmin(ends: Record<string, Ends>, committed: Record<string, Record<number, string>>) {
  const state = { failing: false };
  const fetchTopicOffsets = vi.fn(async (topic: string) => {
    if (state.failing) throw new Error('broker unreachable');
    return Object.entries(ends[topic] ?? {}).map(([partition, e]) => ({ partition: Number(partition), offset: e.high, high: e.high, low: e.low ?? '0' }));
  });
  const fetchOffsets = vi.fn(async ({ topics }: { groupId: string; topics: string[] }) => {
    if (state.failing) throw new Error('broker unreachable');
    return topics.map((topic) => ({ topic, partitions: Object.entries(committed[topic] ?? {}).map(([partition, offset]) => ({ partition: Number(partition), offset, metadata: null })) }));
  });
  return { admin: { fetchTopicOffsets, fetchOffsets } as unknown as Admin, fetchTopicOffsets, fetchOffsets, state };
}

function setup(assignment: { current: Assignment }, admin: Admin, intervalMs = 1_000) {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'kafka_consumer_lag_records', help: 'lag', labelNames: ['group', 'topic', 'partition'] as const, registers: [registry] });
  const monitor = new LagMonitor({ admin, groupId: 'images.router', gauge, assignment: () => assignment.current, intervalMs, logger: silentLogger });
  const shown = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await gauge.get()).values.map((v) => [`${v.labels.group}|${v.labels.topic}/${v.labels.partition}`, v.value]));
  return { monitor, gauge, shown };
}

const assign = (entries: Record<string, number[]>): Assignment => new Map(Object.entries(entries).map(([t, ps]) => [t, new Set(ps)]));

describe('LagMonitor', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows committed lag for the partitions this member owns, and only those', async () => {
    const { admin, fetchOffsets } = fakeAdmin(
      { requests: { 0: { high: '100' }, 1: { high: '50' }, 2: { high: '70', low: '20' } } },
      { requests: { 0: '90', 1: '10' } },
    );
    const { monitor, shown } = setup({ current: assign({ requests: [0, 2] }) }, admin);
    await monitor.refresh();
    expect(await shown()).toEqual({ 'images.router|requests/0': 10, 'images.router|requests/2': 50 });
    expect(fetchOffsets).toHaveBeenCalledWith({ groupId: 'images.router', topics: ['requests'] });
  });

  it('removes the label sets of partitions that were revoked', async () => {
    const { admin } = fakeAdmin({ a: { 0: { high: '5' }, 1: { high: '6' } }, b: { 0: { high: '7' } } }, {});
    const assignment = { current: assign({ a: [0, 1], b: [0] }) };
    const { monitor, shown } = setup(assignment, admin);
    await monitor.refresh();
    expect(Object.keys(await shown()).sort()).toEqual(['images.router|a/0', 'images.router|a/1', 'images.router|b/0']);
    assignment.current = assign({ a: [1] });
    await monitor.refresh();
    expect(await shown()).toEqual({ 'images.router|a/1': 6 });
  });

  it('keeps the last values of owned partitions when the admin call fails, but still drops revoked ones', async () => {
    const { admin, state } = fakeAdmin({ t: { 0: { high: '10' }, 1: { high: '20' } } }, { t: { 0: '4' } });
    const assignment = { current: assign({ t: [0, 1] }) };
    const { monitor, shown } = setup(assignment, admin);
    await monitor.refresh();
    expect(await shown()).toEqual({ 'images.router|t/0': 6, 'images.router|t/1': 20 });
    state.failing = true;
    await expect(monitor.refresh()).resolves.toBeUndefined();
    expect(await shown()).toEqual({ 'images.router|t/0': 6, 'images.router|t/1': 20 });
    assignment.current = assign({ t: [0] });
    await monitor.refresh();
    expect(await shown()).toEqual({ 'images.router|t/0': 6 });
  });

  it('follows new commits', async () => {
    const committed = { t: { 0: '0' } };
    const { admin } = fakeAdmin({ t: { 0: { high: '10' } } }, committed);
    const { monitor, shown } = setup({ current: assign({ t: [0] }) }, admin);
    await monitor.refresh();
    expect(await shown()).toEqual({ 'images.router|t/0': 10 });
    committed.t[0] = '9';
    await monitor.refresh();
    expect(await shown()).toEqual({ 'images.router|t/0': 1 });
  });

  it('runs one measurement at a time', async () => {
    const { admin, fetchTopicOffsets } = fakeAdmin({ t: { 0: { high: '1' } } }, {});
    const { monitor } = setup({ current: assign({ t: [0] }) }, admin);
    const first = monitor.refresh();
    const second = monitor.refresh();
    expect(second).toBe(first);
    await first;
    expect(fetchTopicOffsets).toHaveBeenCalledTimes(1);
    await monitor.refresh();
    expect(fetchTopicOffsets).toHaveBeenCalledTimes(2);
  });

  it('skips topics with no owned partition', async () => {
    const { admin, fetchTopicOffsets } = fakeAdmin({ t: { 0: { high: '1' } } }, {});
    const { monitor } = setup({ current: new Map([['t', new Set<number>()]]) }, admin);
    await monitor.refresh();
    expect(fetchTopicOffsets).not.toHaveBeenCalled();
  });

  it('measures every interval after start, and stop() ends that and clears the gauge', async () => {
    vi.useFakeTimers();
    const { admin, fetchTopicOffsets } = fakeAdmin({ t: { 0: { high: '3' } } }, {});
    const { monitor, shown } = setup({ current: assign({ t: [0] }) }, admin, 1_000);
    monitor.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(fetchTopicOffsets).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fetchTopicOffsets).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetchTopicOffsets).toHaveBeenCalledTimes(3);
    expect(await shown()).toEqual({ 'images.router|t/0': 3 });
    monitor.stop();
    expect(await shown()).toEqual({});
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fetchTopicOffsets).toHaveBeenCalledTimes(3);
  });
});
