import { EventEmitter } from 'node:events';
import { Kafka, type Consumer } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { KeptPositions, resumeOnJoin, seeksFor } from '../../../../platform/consumer/kept-positions.ts';

const EVENTS = new Kafka({ brokers: ['127.0.0.1:9'], logLevel: 0 }).consumer({ groupId: 'unused' }).events;

/** A consumer offering kafkajs' `on`, `events` and `seek`; `join` plays kafkajs' GROUP_JOIN. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const seek = vi.fn<(s: { topic: string; partition: number; offset: string }) => void>();
  const consumer = {
    events: EVENTS,
    seek,
    on: (event: string, listener: (e: unknown) => void) => {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },
  } as unknown as Consumer;
  const join = (memberAssignment: Record<string, number[]>): void => {
    emitter.emit(EVENTS.GROUP_JOIN, { id: 1, type: EVENTS.GROUP_JOIN, timestamp: Date.now(), payload: { groupId: 'g', memberId: 'm', leaderId: 'm', isLeader: true, memberAssignment, groupProtocol: 'RoundRobinAssigner', duration: 1 } });
  };
  return { consumer, seek, join };
}

describe('KeptPositions', () => {
  it('keeps the furthest position per partition and none for a partition never read', () => {
    const kept = new KeptPositions();
    kept.advance('p', 0, 10n);
    kept.advance('p', 0, 7n); // a late batch of an older generation
    kept.advance('p', 1, 3n);
    kept.advance('q', 0, 4n);
    expect([kept.positionOf('p', 0), kept.positionOf('p', 1), kept.positionOf('q', 0), kept.positionOf('p', 2)]).toEqual([10n, 3n, 4n, undefined]);
  });
});

describe('seeksFor', () => {
  it('seeks each assigned partition that has a position, and leaves the others to the default', () => {
    const positions: Record<string, bigint> = { 'p/0': 12n, 'p/1': 0n, 'q/3': 5n, 'p/9': 1n };
    const seeks = seeksFor(new Map([['p', new Set([0, 1, 2])], ['q', new Set([3])]]), (t, p) => positions[`${t}/${p}`]);
    expect(seeks).toEqual([
      { topic: 'p', partition: 0, offset: '12' },
      { topic: 'p', partition: 1, offset: '0' },
      { topic: 'q', partition: 3, offset: '5' },
    ]);
  });
});

describe('resumeOnJoin', () => {
  it('seeks back to the kept positions on every join, including the positions reached since the last one', () => {
    const { consumer, seek, join } = fakeConsumer();
    const kept = new KeptPositions();
    kept.advance('predictions', 0, 100n);
    kept.advance('predictions', 1, 40n);
    resumeOnJoin(consumer, kept.positionOf);

    join({ predictions: [0, 1] });
    expect(seek.mock.calls.map(([s]) => s)).toEqual([
      { topic: 'predictions', partition: 0, offset: '100' },
      { topic: 'predictions', partition: 1, offset: '40' },
    ]);

    // Read on, then a rejoin (a partition was added: partition 2 has no position and keeps the default).
    kept.advance('predictions', 0, 130n);
    seek.mockClear();
    join({ predictions: [0, 1, 2] });
    expect(seek.mock.calls.map(([s]) => s)).toEqual([
      { topic: 'predictions', partition: 0, offset: '130' },
      { topic: 'predictions', partition: 1, offset: '40' },
    ]);
  });

  it('returns a seek for the assignment of a join that happened before it was registered', () => {
    const { consumer, seek } = fakeConsumer();
    resumeOnJoin(consumer, () => 7n)(new Map([['t', new Set([4])]]));
    expect(seek).toHaveBeenCalledWith({ topic: 't', partition: 4, offset: '7' });
  });
});
