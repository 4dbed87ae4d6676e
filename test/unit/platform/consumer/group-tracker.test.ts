import { EventEmitter } from 'node:events';
import { Kafka, type Consumer } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { GroupTracker, type Assignment } from '../../../../platform/consumer/group-tracker.ts';
import { silentLogger } from './fixtures.ts';

/** kafkajs' own event names, taken from a consumer that never connects. */
const EVENTS = new Kafka({ brokers: ['127.0.0.1:9'], logLevel: 0 }).consumer({ groupId: 'unused' }).events;

/** A consumer offering kafkajs' `on(event, listener)` and `events`; `emit` plays kafkajs' instrumentation. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const consumer = {
    events: EVENTS,
    on: (event: string, listener: (e: unknown) => void) => {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },
  } as unknown as Consumer;
  const emit = (event: string, payload: object): void => {
    emitter.emit(event, { id: 1, type: event, timestamp: Date.now(), payload });
  };
  return { consumer, emit };
}

function setup() {
  const { consumer, emit } = fakeConsumer();
  const fatal = vi.fn<(message: string, err?: unknown) => void>();
  const tracker = new GroupTracker(consumer, 'hdr.inference-v1', silentLogger, fatal);
  const join = (memberAssignment: Record<string, number[]>, memberId = 'm-1'): void =>
    emit(EVENTS.GROUP_JOIN, { groupId: 'hdr.inference-v1', memberId, leaderId: memberId, isLeader: true, memberAssignment, groupProtocol: 'RoundRobinAssigner', duration: 3 });
  return { tracker, fatal, emit, join };
}

const plain = (a: Assignment): Record<string, number[]> => Object.fromEntries([...a].map(([t, ps]) => [t, [...ps].sort()]));

describe('GroupTracker', () => {
  it('bumps the generation on every join and exposes the assignment', () => {
    const { tracker, join, fatal } = setup();
    expect(tracker.generation).toBe(0);
    expect(tracker.isMember).toBe(false);
    expect(tracker.current.size).toBe(0);

    join({ a: [0, 2], b: [1] });
    expect(tracker.generation).toBe(1);
    expect(tracker.isMember).toBe(true);
    expect(plain(tracker.current)).toEqual({ a: [0, 2], b: [1] });
    expect([tracker.owns('a', 0), tracker.owns('a', 1), tracker.owns('b', 1), tracker.owns('c', 0)]).toEqual([true, false, true, false]);

    join({ a: [1] });
    expect(tracker.generation).toBe(2);
    expect(plain(tracker.current)).toEqual({ a: [1] });
    expect(tracker.owns('a', 0)).toBe(false);

    join({ a: [1] }); // the same partitions again is still a new generation
    expect(tracker.generation).toBe(3);
    expect(fatal).not.toHaveBeenCalled();
  });

  it('tells assignment listeners about every join', () => {
    const { tracker, join } = setup();
    const seen: Record<string, number[]>[] = [];
    tracker.onAssignment((assignment) => seen.push(plain(assignment)));
    join({ a: [0] });
    join({});
    expect(seen).toEqual([{ a: [0] }, {}]);
  });

  // kafkajs 2.2.4 removes unsubscribed topics from the assignment before GROUP_JOIN (consumerGroup.js, SYNC:
  // "Remove unsubscribed topics from the list"; joinAndSync builds memberAssignment from this.assigned()) and
  // reports them only in RECEIVED_UNSUBSCRIBED_TOPICS. Played as kafkajs plays it, the member joins with an
  // empty assignment, reports ready and consumes nothing: the failure of issue 8, which the tracker turns fatal.
  it('stops with an error naming the group when kafkajs reports unsubscribed topics the way it does', () => {
    const { tracker, emit, join, fatal } = setup();
    emit(EVENTS.RECEIVED_UNSUBSCRIBED_TOPICS, {
      groupId: 'hdr.inference-v1', generationId: 7, memberId: 'm-1',
      assignedTopics: ['images.requests.v1'], topicsSubscribed: ['hdr.requests.v1'], topicsNotSubscribed: ['images.requests.v1'],
    });
    join({});
    expect(fatal).toHaveBeenCalledTimes(1);
    expect(fatal.mock.calls[0]?.[0]).toContain('hdr.inference-v1');
    expect(tracker.isMember).toBe(false);
  });

  it('stops when the consumer crashed and kafkajs will not restart it', () => {
    const { tracker, emit, join, fatal } = setup();
    join({ 'images.requests.v1': [0] });
    const error = new Error('The group is rebalancing, so a rejoin is needed');
    emit(EVENTS.CRASH, { error, groupId: 'hdr.inference-v1', restart: false });
    expect(fatal).toHaveBeenCalledTimes(1);
    expect(fatal.mock.calls[0]?.[0]).toContain('hdr.inference-v1');
    expect(fatal.mock.calls[0]?.[0]).toContain(error.message);
    expect(fatal.mock.calls[0]?.[1]).toBe(error);
    expect(tracker.isMember).toBe(false);
  });

  it('waits for kafkajs to restart a consumer that crashed with restart: true', () => {
    const { tracker, emit, join, fatal } = setup();
    join({ 'images.requests.v1': [0] });
    emit(EVENTS.CRASH, { error: new Error('connection closed'), groupId: 'hdr.inference-v1', restart: true });
    expect(fatal).not.toHaveBeenCalled();
    expect(tracker.isMember).toBe(false);
    join({ 'images.requests.v1': [0] });
    expect(tracker.isMember).toBe(true);
    expect(tracker.generation).toBe(2);
  });

  it('is no longer a member after the consumer stops', () => {
    const { tracker, emit, join, fatal } = setup();
    join({ 'images.requests.v1': [0] });
    emit(EVENTS.STOP, {});
    expect(tracker.isMember).toBe(false);
    expect(fatal).not.toHaveBeenCalled();
  });

  it('tells leave listeners when the consumer stops or crashes, then joins again', () => {
    const { tracker, emit, join } = setup();
    const left = vi.fn();
    tracker.onLeave(left);
    join({ 'images.requests.v1': [0] });
    expect(left).not.toHaveBeenCalled();
    // kafkajs' crash handler stops the consumer (STOP), then reports the crash (CRASH) and restarts it.
    emit(EVENTS.STOP, {});
    emit(EVENTS.CRASH, { error: new Error('connection closed'), groupId: 'hdr.inference-v1', restart: true });
    expect(left).toHaveBeenCalledTimes(2);
    join({ 'images.requests.v1': [0] });
    expect(tracker.isMember).toBe(true);
    expect(left).toHaveBeenCalledTimes(2);
  });

  // Every rejoin used to count as a new ownership of every partition, so each one re-created every owned
  // partition's transactional producer.
  describe('ownedSince', () => {
    it('keeps the generation a partition was first assigned in across rejoins that keep it', () => {
      const { tracker, join } = setup();
      join({ a: [0, 1] });
      join({ a: [1, 2], b: [0] });
      expect([tracker.ownedSince('a', 0), tracker.ownedSince('a', 1), tracker.ownedSince('a', 2), tracker.ownedSince('b', 0)]).toEqual([undefined, 1, 2, 2]);
      join({ a: [0, 1, 2] });
      expect([tracker.ownedSince('a', 0), tracker.ownedSince('a', 1), tracker.ownedSince('a', 2), tracker.ownedSince('b', 0)]).toEqual([3, 1, 2, undefined]);
    });

    it('starts a new ownership of every partition after the consumer stopped or crashed', () => {
      const { tracker, emit, join } = setup();
      join({ a: [0] });
      emit(EVENTS.STOP, {});
      emit(EVENTS.CRASH, { error: new Error('connection closed'), groupId: 'hdr.inference-v1', restart: true });
      join({ a: [0] });
      expect(tracker.ownedSince('a', 0)).toBe(2);
    });

    it('starts a new ownership when the coordinator dropped the member (a new member id)', () => {
      const { tracker, join } = setup();
      join({ a: [0] }, 'm-1');
      join({ a: [0] }, 'm-2');
      expect(tracker.ownedSince('a', 0)).toBe(2);
      join({ a: [0] }, 'm-2');
      expect(tracker.ownedSince('a', 0)).toBe(2);
    });
  });
});
