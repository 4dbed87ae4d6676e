import type { Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LaneGate } from '../../../../platform/consumer/lane-gate.ts';
import { LaneScheduler } from '../../../../platform/consumer/lane-scheduler.ts';
import { createStreamMetrics } from '../../../../platform/consumer/metrics.ts';
import { PauseHolds } from '../../../../platform/consumer/pause-holds.ts';
import { silentLogger } from './fixtures.ts';

const NORMAL = 'p.requests.v1';
const HIGH = 'p.requests.v1.high';

/** An admin whose high-lane end offsets and committed offsets the test sets. */
function fakeAdmin(state: { high: Record<number, number>; committed: Record<number, number>; offsetFetches: number }): Admin {
  return {
    fetchTopicOffsets: async (topic: string) => {
      if (topic !== HIGH) throw new Error(`probed ${topic}: only the high lane is probed`);
      return Object.entries(state.high).map(([p, high]) => ({ partition: Number(p), high: String(high), low: '0', offset: String(high) }));
    },
    fetchOffsets: async () => (state.offsetFetches += 1) && [{ topic: HIGH, partitions: Object.entries(state.committed).map(([p, offset]) => ({ partition: Number(p), offset: String(offset), metadata: null })) }],
  } as unknown as Admin;
}

function setup() {
  const state = { high: { 0: 0, 1: 0 } as Record<number, number>, committed: { 0: -1, 1: -1 } as Record<number, number>, offsetFetches: 0 };
  const calls: string[] = [];
  const holds = new PauseHolds({ pause: (t, p) => calls.push(`pause ${t}/${p}`), resume: (t, p) => calls.push(`resume ${t}/${p}`) });
  const metrics = createStreamMetrics(new Registry());
  const scheduler = new LaneScheduler({ normalMinShare: 0.2, windowRecords: 320 });
  const gate = new LaneGate({
    scheduler, holds, admin: fakeAdmin(state), groupId: 'g', probeMs: 100, logger: silentLogger,
    assignment: () => new Map([[NORMAL, new Set([0, 1])], [HIGH, new Set([0, 1])]]),
    metrics: { held: metrics.laneHeld, yields: metrics.laneYields },
  });
  // The normal lane has been running alone: it has had more than its share.
  for (let i = 0; i < 20; i += 1) gate.served(NORMAL, 32);
  return { state, calls, gate, holds };
}

describe('LaneGate', () => {
  it('leaves the normal lane running while the high lane is empty (nothing committed yet counts from the log start)', async () => {
    const { calls, gate } = setup();
    await gate.probe();
    expect(calls).toEqual([]);
    expect(gate.mayServe(NORMAL)).toBe(true);
  });

  it('pauses the normal partitions when a probe finds high records, and resumes them once those are delivered', async () => {
    const { state, calls, gate } = setup();
    state.high[1] = 3;
    await gate.probe();
    expect(calls).toEqual([`pause ${NORMAL}/0`, `pause ${NORMAL}/1`]);
    expect(gate.mayServe(NORMAL)).toBe(false);
    expect(gate.mayServe(HIGH)).toBe(true);
    gate.served(HIGH, 3);
    gate.reached(HIGH, 1, 3n);
    expect(calls.slice(2)).toEqual([`resume ${NORMAL}/0`, `resume ${NORMAL}/1`]);
    expect(gate.mayServe(NORMAL)).toBe(true);
  });

  it('reads the committed offsets only while a position is unknown', async () => {
    const { state, gate } = setup();
    await gate.probe();
    await gate.probe();
    expect(state.offsetFetches).toBe(1);
  });

  it('keeps a partition paused for a systemic failure paused when the lane lets go of it', async () => {
    const { state, calls, gate, holds } = setup();
    holds.hold(NORMAL, 0, 'systemic');
    state.high[0] = 1;
    await gate.probe();
    gate.reached(HIGH, 0, 1n);
    expect(calls).toEqual([`pause ${NORMAL}/0`, `pause ${NORMAL}/1`, `resume ${NORMAL}/1`]);
  });
});
