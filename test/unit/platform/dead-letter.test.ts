import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { fittingDeadLetterLimits } from '../../../platform/consumer/stream-loop.ts';
import { cutBytes, deadLetterRecords, toDeadLetter, type FailedRecord } from '../../../platform/dead-letter.ts';
import { PipelineError } from '../../../platform/errors.ts';
import { maxRecordBytes, recordBytes, splitByBudget } from '../../../platform/produce-budget.ts';
import { loadSchema, type AvroSerde } from '../../../platform/schema-registry.ts';

/** The DeadLetter schema as the registry serde writes it: magic byte, 4-byte schema id, Avro binary. */
const deadLetterType = avro.Type.forSchema(JSON.parse(loadSchema('DeadLetter')) as avro.Schema);
const serde = { encode: async (_topic: string, _name: string, value: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), deadLetterType.toBuffer(value)]) } as unknown as AvroSerde;

/** Bytes that are not UTF-8: each decodes to U+FFFD, 3 bytes once encoded again. */
const invalidUtf8 = (bytes: number): Buffer => Buffer.alloc(bytes, 0xff);

/** The largest dead letter a producer can provoke: every producer-controlled part as large and as wide as it gets. */
function hostileRecord(): FailedRecord {
  const headers = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${i}${invalidUtf8(1_000).toString()}`, invalidUtf8(100_000)]));
  return {
    topic: 't'.repeat(249),
    partition: 0,
    message: { key: invalidUtf8(100_000), value: Buffer.alloc(9 * 1_024 * 1_024, 1), offset: '12', timestamp: '0', attributes: 0, headers },
    error: new PipelineError('fetch', 'NotFound', '\u{fffd}'.repeat(100_000)),
    requestId: invalidUtf8(100_000).toString(),
    modelVersion: '日本'.repeat(50_000),
  };
}

describe('cutBytes', () => {
  it('leaves text within the limit as it is', () => {
    expect(cutBytes('abc', 3)).toBe('abc');
    expect(cutBytes('日本', 6)).toBe('日本');
    // Past the length test that skips encoding (3 bytes a code unit), the bytes decide.
    expect(cutBytes('abcd', 3)).not.toBe('abcd');
    expect(cutBytes('日本日', 8)).not.toBe('日本日');
  });

  it('cuts to the byte limit, note included, and says how long the text was', () => {
    for (const text of ['x'.repeat(1_000), '\u{fffd}'.repeat(1_000), '🙂'.repeat(1_000), `a${'é'.repeat(999)}`]) {
      for (const max of [32, 128, 129, 130, 512]) {
        const cut = cutBytes(text, max);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(max);
        expect(Buffer.byteLength(cut)).toBeGreaterThan(max - 4 - Buffer.byteLength(`…[cut from ${Buffer.byteLength(text)} bytes]`));
        expect(cut).toMatch(new RegExp(`…\\[cut from ${Buffer.byteLength(text)} bytes\\]$`));
      }
    }
  });

  it('never splits a character (which would decode to U+FFFD)', () => {
    for (const max of [40, 41, 42, 43]) {
      const cut = cutBytes('🙂'.repeat(100), max).replace(/….*$/, '');
      expect(cut).toBe('🙂'.repeat(cut.length / 2));
      expect(cut).not.toContain('\u{fffd}');
    }
  });
});

describe('dead letters of hostile records', () => {
  it('count header, id and message caps in bytes, not characters', () => {
    const dead = toDeadLetter(hostileRecord(), 'svc', { maxValueBytes: 10 });
    expect(Object.keys(dead.original_headers)).toHaveLength(32);
    for (const [name, value] of Object.entries(dead.original_headers)) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(128);
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(512);
    }
    expect(Buffer.byteLength(dead.error_message)).toBeLessThanOrEqual(2_000);
    expect(Buffer.byteLength(dead.request_id ?? '')).toBeLessThanOrEqual(256);
    expect(Buffer.byteLength(dead.model_version ?? '')).toBeLessThanOrEqual(256);
    expect(dead.original_key).toHaveLength(1_024);
  });

  // With headers of invalid UTF-8 counted in characters, such a dead letter was ~5 KB over the budget: its
  // partition paused and retried it for good (splitByBudget refuses it; the broker would too).
  it.each([256 * 1_024, 1_000_000, 8 * 1_024 * 1_024])('always fit the produce budget of %i bytes, with the value kept to the limit', async (budget) => {
    const limits = fittingDeadLetterLimits(16 * 1_024 * 1_024, budget);
    const [record] = await deadLetterRecords([hostileRecord()], { serde, topic: 'images.dlq', service: 'inference-v1', limits });
    expect(recordBytes(record!)).toBeLessThanOrEqual(maxRecordBytes(budget));
    expect(() => splitByBudget([record!], budget)).not.toThrow();
    const decoded = deadLetterType.fromBuffer(record!.value!.subarray(5)) as { original_value: Buffer; original_value_truncated: boolean };
    expect(decoded.original_value).toHaveLength(limits.maxValueBytes);
    expect(decoded.original_value_truncated).toBe(true);
  });
});
