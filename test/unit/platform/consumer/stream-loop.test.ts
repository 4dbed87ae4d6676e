import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { ProcessedChunk } from '../../../../platform/consumer/chunk-isolation.ts';
import { nextOffsetAfter } from '../../../../platform/consumer/batch-handler.ts';
import { fitOutputs } from '../../../../platform/consumer/stream-loop.ts';
import { PipelineError } from '../../../../platform/errors.ts';
import { maxRecordBytes, recordBytes, type OutgoingRecord } from '../../../../platform/produce-budget.ts';
import { kafkaMessage, kafkaMessages } from './fixtures.ts';

const BUDGET = 100_000;
const LIMIT = maxRecordBytes(BUDGET);

/** An output whose recordBytes is exactly `bytes`. */
function output(topic: string, bytes: number, headers: Record<string, string> = {}): OutgoingRecord {
  const base = recordBytes({ topic, key: null, value: Buffer.alloc(0), headers });
  return { topic, key: null, value: Buffer.alloc(bytes - base), headers };
}

const at = (o: { topic: string; partition: number; stage: 'route' | 'inference' }) => ({ ...o, budgetBytes: BUDGET });

describe('fitOutputs', () => {
  it('turns an input with any oversized output into one <stage>/TooLarge dead letter and keeps none of its outputs', () => {
    const [a, b, c, d] = kafkaMessages(4) as [KafkaMessage, KafkaMessage, KafkaMessage, KafkaMessage];
    const earlier = { topic: 'in', partition: 1, message: d, error: new PipelineError('decode', 'SchemaError', 'not avro') };
    const chunk: ProcessedChunk = {
      outputs: [
        { source: a, record: output('v1', 500, { 'x-request-id': 'from-output' }) },
        { source: b, record: output('v1', 400) },
        { source: a, record: output('v2', LIMIT + 1) }, // a's shadow copy is too large
        { source: b, record: output('v2', LIMIT) }, // exactly at the limit: fits
        { source: c, record: output('v1', LIMIT + 5_000) },
        { source: c, record: output('v2', LIMIT + 9_000) },
      ],
      failed: [earlier],
    };
    const fitted = fitOutputs(chunk, at({ topic: 'in', partition: 1, stage: 'route' }));

    expect(fitted.records).toEqual([chunk.outputs[1]?.record, chunk.outputs[3]?.record]);
    expect(fitted.dropped).toEqual(new Set([a, c]));
    expect(fitted.failed[0]).toBe(earlier);
    expect(fitted.failed.slice(1).map((f) => [f.message, f.topic, f.partition, f.error.stage, f.error.errorClass])).toEqual([
      [a, 'in', 1, 'route', 'TooLarge'],
      [c, 'in', 1, 'route', 'TooLarge'],
    ]);
    const [, tooLargeA, tooLargeC] = fitted.failed;
    // The request id comes from the outputs' headers when they carry one, else from the input's.
    expect(tooLargeA?.requestId).toBe('from-output');
    expect(tooLargeC?.requestId).toBe('req-2');
    // The message gives the largest output's size and the limit, and what to change.
    expect(tooLargeC?.error.message).toContain(`${LIMIT + 9_000} bytes`);
    expect(tooLargeC?.error.message).toContain(`${LIMIT} bytes`);
    expect(tooLargeC?.error.message).toMatch(/PRODUCE_MAX_BYTES/);
    expect(tooLargeC?.error.transient).toBe(false);
  });

  it('names the stage it is given', () => {
    const source = kafkaMessage(9);
    const fitted = fitOutputs({ outputs: [{ source, record: output('predictions', LIMIT + 1) }], failed: [] }, at({ topic: 'in', partition: 0, stage: 'inference' }));
    expect(fitted.failed.map((f) => `${f.error.stage}/${f.error.errorClass}`)).toEqual(['inference/TooLarge']);
    expect(fitted.records).toEqual([]);
  });

  it('leaves a chunk whose outputs all fit untouched', () => {
    const [a, b] = kafkaMessages(2) as [KafkaMessage, KafkaMessage];
    const chunk: ProcessedChunk = { outputs: [{ source: a, record: output('v1', 100) }, { source: b, record: output('v1', LIMIT) }], failed: [] };
    const fitted = fitOutputs(chunk, at({ topic: 'in', partition: 0, stage: 'route' }));
    expect(fitted.records).toEqual(chunk.outputs.map((out) => out.record));
    expect(fitted.failed).toEqual([]);
    expect(fitted.dropped.size).toBe(0);
  });

  it('does not change the chunk it is given', () => {
    const a = kafkaMessage(0);
    const chunk: ProcessedChunk = { outputs: [{ source: a, record: output('v1', LIMIT + 1) }], failed: [] };
    fitOutputs(chunk, at({ topic: 'in', partition: 0, stage: 'route' }));
    expect(chunk.failed).toEqual([]);
    expect(chunk.outputs).toHaveLength(1);
  });
});

describe('nextOffsetAfter', () => {
  const batch = (lastOffset: string) => ({ lastOffset: () => lastOffset });
  const chunk = [kafkaMessage(10), kafkaMessage(11), kafkaMessage(12)];

  it('is one past the chunk\'s last record inside a batch', () => {
    expect(nextOffsetAfter(chunk, batch('20'), false)).toBe('13');
  });

  it('skips trailing transaction markers after the batch\'s last chunk', () => {
    // Offsets 13 and 14 are a commit marker and an aborted record that kafkajs hides from the handler.
    expect(nextOffsetAfter(chunk, batch('14'), true)).toBe('15');
  });

  it('never goes below one past the last record', () => {
    expect(nextOffsetAfter(chunk, batch('12'), true)).toBe('13');
    expect(nextOffsetAfter(chunk, batch('5'), true)).toBe('13');
  });

  it('handles offsets beyond 2^53', () => {
    const big = [kafkaMessage('9007199254740993')];
    expect(nextOffsetAfter(big, batch('9007199254740995'), true)).toBe('9007199254740996');
    expect(nextOffsetAfter(big, batch('9007199254740995'), false)).toBe('9007199254740994');
  });
});
