import { describe, expect, it } from 'vitest';
import { headersToStrings } from '../../../platform/headers.ts';
import { childTraceparent, newTraceparent, traceId } from '../../../platform/trace.ts';
import { formatProgress } from '../../../platform/progress-bar.ts';
import { DEAD_LETTER_OVERHEAD_BYTES, toDeadLetter } from '../../../platform/dead-letter.ts';
import { classify, PipelineError } from '../../../platform/errors.ts';

describe('trace context', () => {
  it('keeps the trace id across hops with a new span id', () => {
    const parent = newTraceparent();
    const child = childTraceparent(parent);
    expect(child).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceId(child)).toBe(traceId(parent));
    expect(child).not.toBe(parent);
  });

  it('starts a new trace when the parent is missing or malformed', () => {
    expect(traceId(childTraceparent(undefined))).toHaveLength(32);
    expect(traceId(childTraceparent('garbage'))).toHaveLength(32);
  });

  it('reads kafkajs headers as strings', () => {
    expect(headersToStrings({ a: Buffer.from('x'), b: 'y', c: [Buffer.from('z'), 'w'], d: undefined })).toEqual({ a: 'x', b: 'y', c: 'z' });
  });
});

describe('progress line', () => {
  it('shows count, rate and ETA', () => {
    expect(formatProgress('published', 500, 1000, 5_000)).toBe(`published [${'#'.repeat(12)}${'.'.repeat(12)}] 500/1000 100/s ETA 5s`);
    expect(formatProgress('x', 0, 10, 0)).toMatch(/ETA \?$/);
  });
});

describe('dead letters', () => {
  it('keep the original bytes, headers, position, stage and class', () => {
    const message = { key: Buffer.from('k'), value: Buffer.from([1, 2]), headers: { traceparent: Buffer.from('t') }, offset: '41', timestamp: '0', attributes: 0 };
    const error = new PipelineError('fetch', 'NotFound', 'no such key');
    expect(toDeadLetter({ topic: 'in', partition: 3, message, error, requestId: 'r', attempts: 2 }, 'svc', { maxValueBytes: 100 }, 7)).toEqual({
      original_topic: 'in', original_partition: 3, original_offset: 41, original_key: Buffer.from('k'), original_value: Buffer.from([1, 2]),
      original_value_truncated: false, original_value_size: 2,
      original_headers: { traceparent: 't' }, stage: 'fetch', error_class: 'NotFound', error_message: 'no such key',
      request_id: 'r', model_version: null, attempts: 2, service: 'svc', failed_at: 7,
    });
  });

  it('cut the original value to the limit and say how big it was; cap keys, headers and messages', () => {
    const message = {
      key: Buffer.alloc(5_000, 1), value: Buffer.alloc(1_000, 2), offset: '0', timestamp: '0', attributes: 0,
      headers: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`h${i}`, 'x'.repeat(10_000)])),
    };
    const dead = toDeadLetter({ topic: 'in', partition: 0, message, error: new PipelineError('route', 'TooLarge', 'm'.repeat(10_000)) }, 'svc', { maxValueBytes: 64 });
    expect(dead.original_value).toEqual(Buffer.alloc(64, 2));
    expect(dead).toMatchObject({ original_value_truncated: true, original_value_size: 1_000 });
    expect(dead.original_key?.length).toBe(1_024);
    expect(Object.keys(dead.original_headers)).toHaveLength(32);
    expect(Object.values(dead.original_headers).every((v) => v.length < 600)).toBe(true);
    expect(dead.error_message.length).toBeLessThan(2_100);
    const bytes = JSON.stringify(dead.original_headers).length + (dead.original_key?.length ?? 0) + dead.error_message.length;
    expect(bytes).toBeLessThan(DEAD_LETTER_OVERHEAD_BYTES);
  });

  it('classify keeps a classification and wraps anything else', () => {
    const known = new PipelineError('preprocess', 'NotAnImage', 'x');
    expect(classify(known, 'fetch')).toBe(known);
    expect(classify(new Error('boom'), 'inference')).toMatchObject({ stage: 'inference', errorClass: 'InternalError', message: 'boom', transient: false });
  });
});
