import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  BATCH_OVERHEAD_BYTES,
  byTopic,
  maxRecordBytes,
  recordBytes,
  PRODUCE_MAX_RECORDS,
  splitByBudget,
  type OutgoingRecord,
} from '../../../platform/produce-budget.ts';

/** kafkajs' own v2 encoders, as its produce request uses them (src/protocol/requests/produce/v3/request.js). */
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: {
  offsetDelta: number; timestampDelta: number; key: string | Buffer | null; value: Buffer | null; headers: Record<string, string>;
}) => Encoded;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (o: { records: Encoded[]; lastOffsetDelta: number; transactional: boolean }) => Promise<Encoded>;
};

/** The bytes kafkajs puts on the wire for these records as one batch (what max.message.bytes limits). */
async function encodedBatchBytes(records: readonly OutgoingRecord[]): Promise<number> {
  const encoded = records.map((r, i) => encodeRecord({ key: r.key, value: r.value, headers: r.headers, offsetDelta: i, timestampDelta: 0 }));
  return (await RecordBatch({ records: encoded, lastOffsetDelta: records.length - 1, transactional: true })).buffer.length;
}

const record = (topic: string, valueBytes: number, o: { key?: string | Buffer | null; headers?: Record<string, string> } = {}): OutgoingRecord => ({
  topic, key: o.key ?? null, value: Buffer.alloc(valueBytes, 7), headers: o.headers ?? {},
});

const TRACE = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, 'x-request-id': '5f0c7f38-3f0e-4d5a-9a57-5d7b1f6a0c11' };

describe('recordBytes', () => {
  const samples: [string, OutgoingRecord][] = [
    ['empty value, no key', record('t', 0)],
    ['null value (tombstone)', { topic: 't', key: 'k', value: null, headers: {} }],
    // Lengths are zigzag varints: n takes 1 byte up to 63, 2 up to 8 191, 3 up to 1 048 575, then 4.
    ['63-byte value', record('t', 63)],
    ['64-byte value', record('t', 64)],
    ['8 191-byte value', record('t', 8_191)],
    ['8 192-byte value', record('t', 8_192)],
    ['1 048 575-byte value', record('t', 1_048_575)],
    ['1 048 576-byte value', record('t', 1_048_576)],
    ['string key with multi-byte characters', record('t', 100, { key: 'clé-ü-日本-🙂'.repeat(20) })],
    ['buffer key', record('t', 100, { key: Buffer.alloc(300, 1) })],
    ['trace headers', record('t', 500, { key: 'k', headers: TRACE })],
    ['32 headers with multi-byte names and values', record('t', 10, { headers: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`h-ü-${i}`, '値'.repeat(i * 7)])) })],
    ['a 200-byte header value', record('t', 10, { headers: { big: 'x'.repeat(200) } })],
  ];

  it.each(samples)('is an upper bound of kafkajs\' encoding: %s', async (_name, r) => {
    const alone = (await encodedBatchBytes([r])) - BATCH_OVERHEAD_BYTES;
    expect(recordBytes(r)).toBeGreaterThanOrEqual(alone);
  });

  it('stays an upper bound at large offset deltas (the last records of a big batch)', () => {
    const r = record('t', 1_000, { key: 'k', headers: TRACE });
    const actual = encodeRecord({ ...r, offsetDelta: 1_000_000, timestampDelta: 0 }).buffer.length;
    expect(recordBytes(r)).toBeGreaterThanOrEqual(actual);
  });

  it('counts the batch header kafkajs writes exactly', async () => {
    const encoded = encodeRecord({ key: null, value: Buffer.alloc(10), headers: {}, offsetDelta: 0, timestampDelta: 0 }).buffer.length;
    expect(await encodedBatchBytes([record('t', 10)])).toBe(BATCH_OVERHEAD_BYTES + encoded);
  });

  it('is not far above the real size, so the budget is not wasted', async () => {
    for (const [, r] of samples) {
      const alone = (await encodedBatchBytes([r])) - BATCH_OVERHEAD_BYTES;
      expect(recordBytes(r) - alone).toBeLessThanOrEqual(32 + 10 * Object.keys(r.headers).length);
    }
  });

  it('counts keys, values and headers in bytes, not characters', () => {
    const ascii = recordBytes(record('t', 0, { key: 'aaaa', headers: { h: 'bbbb' } }));
    const wide = recordBytes(record('t', 0, { key: 'éééé', headers: { h: '日日日日' } }));
    expect(wide - ascii).toBe(4 + 8);
  });
});

describe('splitByBudget', () => {
  const budget = 10_000;
  const mixed = Array.from({ length: 60 }, (_, i) => record(i % 3 === 0 ? 'a' : 'b', (i * 997) % 4_000, { key: `k${i}`, headers: TRACE }));

  it('keeps every record, in order', () => {
    expect(splitByBudget(mixed, budget).flat()).toEqual(mixed);
  });

  it('never exceeds the budget, by its own estimate and by kafkajs\' encoding of each call', async () => {
    const calls = splitByBudget(mixed, budget);
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) {
      expect(call.length).toBeGreaterThan(0);
      expect(BATCH_OVERHEAD_BYTES + call.reduce((sum, r) => sum + recordBytes(r), 0)).toBeLessThanOrEqual(budget);
      expect(await encodedBatchBytes(call)).toBeLessThanOrEqual(budget);
    }
  });

  it('fills each call before starting the next', () => {
    // Each record's estimate is 1 000 bytes: 9 fit in 61 + 9 000 ≤ 10 000, the 10th does not.
    const size = 1_000 - recordBytes(record('t', 0));
    const records = Array.from({ length: 20 }, () => record('t', size));
    expect(recordBytes(records[0] as OutgoingRecord)).toBe(1_000);
    expect(splitByBudget(records, budget).map((c) => c.length)).toEqual([9, 9, 2]);
  });

  it('holds at most PRODUCE_MAX_RECORDS records a call, however small they are', () => {
    const small = Array.from({ length: 2 * PRODUCE_MAX_RECORDS + 5 }, () => record('t', 10));
    expect(splitByBudget(small, 1_000_000).map((c) => c.length)).toEqual([PRODUCE_MAX_RECORDS, PRODUCE_MAX_RECORDS, 5]);
    expect(splitByBudget(small.slice(0, 7), 1_000_000, 3).map((c) => c.length)).toEqual([3, 3, 1]);
  });

  it('accepts a record that exactly fills the budget on its own', () => {
    const exact = record('t', maxRecordBytes(budget) - recordBytes(record('t', 0)));
    expect(recordBytes(exact)).toBe(maxRecordBytes(budget));
    expect(splitByBudget([record('t', 1), exact, record('t', 1)], budget).map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it('refuses a record that cannot fit even alone, naming its topic and the budget', () => {
    const tooBig = record('images.predictions', maxRecordBytes(budget) - recordBytes(record('t', 0)) + 1);
    expect(() => splitByBudget([record('t', 1), tooBig], budget)).toThrow(RangeError);
    expect(() => splitByBudget([tooBig], budget)).toThrow(/images\.predictions.*10000 bytes/);
  });

  it('returns no calls for no records', () => {
    expect(splitByBudget([], budget)).toEqual([]);
  });
});

describe('byTopic', () => {
  it('groups records by topic in order of first appearance, keeping their order within a topic', () => {
    const r = (topic: string, n: number): OutgoingRecord => ({ topic, key: `k${n}`, value: Buffer.from([n]), headers: { n: String(n) } });
    const groups = byTopic([r('b', 1), r('a', 2), r('b', 3), r('c', 4), r('a', 5)]);
    expect(groups.map((g) => [g.topic, g.messages.map((m) => m.key)])).toEqual([
      ['b', ['k1', 'k3']],
      ['a', ['k2', 'k5']],
      ['c', ['k4']],
    ]);
    expect(groups[0]?.messages[0]).toEqual({ key: 'k1', value: Buffer.from([1]), headers: { n: '1' } });
    expect(groups[0]?.messages[0]).not.toHaveProperty('topic');
  });

  it('returns nothing for no records', () => {
    expect(byTopic([])).toEqual([]);
  });
});
