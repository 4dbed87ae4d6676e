import type { KafkaMessage } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { processIsolated, type ChunkContext, type ChunkProcessor, type IsolationOptions, type ProcessedChunk } from '../../../../platform/consumer/chunk-isolation.ts';
import { PipelineError, SystemicError } from '../../../../platform/errors.ts';
import { kafkaMessages } from './fixtures.ts';

const TIMEOUT_MS = 1_000;

function options(overrides: Partial<IsolationOptions> = {}): IsolationOptions & { isolations: string[] } {
  const isolations: string[] = [];
  return { topic: 'in', partition: 3, stage: 'route', timeoutMs: TIMEOUT_MS, isolateTotalStalls: false, onIsolation: (reason) => isolations.push(reason), isolations, ...overrides };
}

/** One output per record, and an onDelivered callback that reports which records it covered. */
function outputsFor(records: KafkaMessage[], delivered: KafkaMessage[][]): ProcessedChunk {
  return {
    outputs: records.map((source) => ({ source, record: { topic: 'out', key: null, value: source.value, headers: {} } })),
    failed: [],
    onDelivered: () => delivered.push(records),
  };
}

const offsets = (records: readonly KafkaMessage[]): string[] => records.map((r) => r.offset);
const sorted = (values: string[]): string[] => [...values].sort((a, b) => Number(a) - Number(b));

/** Never settles on its own; rejects when the watchdog aborts the attempt. */
const hangUntilAborted = (ctx: ChunkContext): Promise<never> =>
  new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

/** The value or the error a promise settles with, so that fake timers can run before it is awaited. */
const settle = (promise: Promise<unknown>): Promise<unknown> => promise.then((value) => value, (err: unknown) => err);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('processIsolated: exceptions', () => {
  it('narrows an unexpected exception down to the one record that throws; the other 31 are produced', async () => {
    const records = kafkaMessages(32);
    const poisoned = records[13] as KafkaMessage;
    const delivered: KafkaMessage[][] = [];
    const calls: number[] = [];
    const processor: ChunkProcessor = async (chunk) => {
      calls.push(chunk.length);
      if (chunk.includes(poisoned)) throw new TypeError('cannot read properties of undefined (reading "uri")');
      return outputsFor(chunk, delivered);
    };
    const o = options();
    const result = await processIsolated(records, processor, o);

    expect(sorted(result.outputs.map((out) => out.source.offset))).toEqual(offsets(records.filter((r) => r !== poisoned)));
    expect(result.failed).toHaveLength(1);
    const [dead] = result.failed;
    expect(dead?.message).toBe(poisoned);
    expect({ topic: dead?.topic, partition: dead?.partition, requestId: dead?.requestId }).toEqual({ topic: 'in', partition: 3, requestId: 'req-13' });
    expect(dead?.error).toBeInstanceOf(PipelineError);
    expect({ stage: dead?.error.stage, errorClass: dead?.error.errorClass, transient: dead?.error.transient }).toEqual({ stage: 'route', errorClass: 'InternalError', transient: false });
    expect(dead?.error.message).toContain('cannot read properties of undefined');
    expect(dead?.error.cause).toBeInstanceOf(TypeError);
    // Halving: 32 → 16 → 8 → 4 → 2 → 1, one split per level.
    expect(o.isolations).toEqual(['exception', 'exception', 'exception', 'exception', 'exception']);
    expect(calls.sort((a, b) => b - a)).toEqual([32, 16, 16, 8, 8, 4, 4, 2, 2, 1, 1]);

    // The merged result keeps the onDelivered of every part that succeeded (16 + 8 + 4 + 2 + 1 records), and
    // none of them runs before delivery.
    expect(delivered).toEqual([]);
    result.onDelivered?.(new Set());
    expect(delivered.map((part) => part.length).sort((a, b) => b - a)).toEqual([16, 8, 4, 2, 1]);
    expect(sorted(delivered.flat().map((r) => r.offset))).toEqual(offsets(records.filter((r) => r !== poisoned)));
  });

  it('passes the dropped set to every part\'s onDelivered', async () => {
    const records = kafkaMessages(4);
    const poisoned = records[3] as KafkaMessage;
    const received: ReadonlySet<KafkaMessage>[] = [];
    const processor: ChunkProcessor = async (chunk) => {
      if (chunk.includes(poisoned)) throw new Error('boom');
      return { ...outputsFor(chunk, []), onDelivered: (dropped) => received.push(dropped) };
    };
    const result = await processIsolated(records, processor, options());
    const dropped = new Set([records[1] as KafkaMessage]);
    result.onDelivered?.(dropped);
    // [0,1] then [2] succeed: two callbacks, both given the same set.
    expect(received).toEqual([dropped, dropped]);
    expect(received[0]).toBe(dropped);
  });

  it('has no onDelivered when no part had one', async () => {
    const processor: ChunkProcessor = async (chunk) => {
      if (chunk.length > 1) throw new Error('split me');
      return { outputs: [], failed: [] };
    };
    const result = await processIsolated(kafkaMessages(2), processor, options());
    expect(result.onDelivered).toBeUndefined();
  });

  it('keeps the class of a PipelineError the processor throws for a record', async () => {
    const records = kafkaMessages(8);
    const poisoned = records[6] as KafkaMessage;
    const notFound = new PipelineError('fetch', 'NotFound', 'no such object');
    const processor: ChunkProcessor = async (chunk) => {
      if (chunk.includes(poisoned)) throw notFound;
      return outputsFor(chunk, []);
    };
    const result = await processIsolated(records, processor, options({ stage: 'inference' }));
    expect(result.outputs).toHaveLength(7);
    expect(result.failed.map((f) => [f.message.offset, f.error])).toEqual([['6', notFound]]);
    expect(result.failed[0]?.error).toBe(notFound);
    expect(result.failed[0]?.error.stage).toBe('fetch');
  });

  it('treats a processor that throws synchronously, or throws a non-Error, like one that rejects', async () => {
    const records = kafkaMessages(3);
    const processor: ChunkProcessor = (chunk) => {
      if (chunk.includes(records[0] as KafkaMessage)) throw 'a string, not an Error';
      return Promise.resolve(outputsFor(chunk, []));
    };
    const result = await processIsolated(records, processor, options({ stage: 'decode' }));
    expect(offsets(result.outputs.map((out) => out.source))).toEqual(['1', '2']);
    expect(result.failed.map((f) => [f.message.offset, f.error.stage, f.error.errorClass])).toEqual([['0', 'decode', 'InternalError']]);
    expect(result.failed[0]?.error.message).toContain('a string, not an Error');
  });

  it('dead-letters every record that throws on its own, not only the first', async () => {
    const records = kafkaMessages(16);
    const poisoned = new Set([records[0], records[7], records[15]]);
    const processor: ChunkProcessor = async (chunk) => {
      if (chunk.some((r) => poisoned.has(r))) throw new Error('poison');
      return outputsFor(chunk, []);
    };
    const result = await processIsolated(records, processor, options());
    expect(sorted(result.failed.map((f) => f.message.offset))).toEqual(['0', '7', '15']);
    expect(result.outputs).toHaveLength(13);
  });

  it('returns the records\' own failures and outputs untouched when nothing throws', async () => {
    const records = kafkaMessages(3);
    const own = new PipelineError('decode', 'SchemaError', 'not avro');
    const processor: ChunkProcessor = async (chunk) => ({
      outputs: chunk.slice(1).map((source) => ({ source, record: { topic: 'out', key: null, value: null, headers: {} } })),
      failed: [{ topic: 'in', partition: 3, message: chunk[0] as KafkaMessage, error: own }],
    });
    const o = options();
    const result = await processIsolated(records, processor, o);
    expect(result.failed.map((f) => f.error)).toEqual([own]);
    expect(result.outputs).toHaveLength(2);
    expect(o.isolations).toEqual([]);
  });

  it('returns an empty result for no records without calling the processor', async () => {
    const processor = vi.fn<ChunkProcessor>();
    expect(await processIsolated([], processor, options())).toEqual({ outputs: [], failed: [] });
    expect(processor).not.toHaveBeenCalled();
  });
});

describe('processIsolated: systemic errors', () => {
  it('lets a SystemicError of the whole chunk through at once, without splitting', async () => {
    const processor = vi.fn<ChunkProcessor>(async () => {
      throw new SystemicError('registry', 'registry did not answer');
    });
    const o = options();
    await expect(processIsolated(kafkaMessages(8), processor, o)).rejects.toMatchObject({ name: 'SystemicError', component: 'registry' });
    expect(processor).toHaveBeenCalledTimes(1);
    expect(o.isolations).toEqual([]);
  });

  it('lets a SystemicError through when it is thrown by a sub-chunk during isolation', async () => {
    const records = kafkaMessages(16);
    const processor: ChunkProcessor = async (chunk) => {
      if (chunk.length > 4) throw new Error('something in here is bad');
      if (chunk.includes(records[9] as KafkaMessage)) throw new SystemicError('object-store', 'object store unavailable');
      return outputsFor(chunk, []);
    };
    const rejection = processIsolated(records, processor, options());
    await expect(rejection).rejects.toBeInstanceOf(SystemicError);
    await expect(rejection).rejects.toMatchObject({ component: 'object-store' });
  });

  it('lets a SystemicError through from a single record', async () => {
    const processor: ChunkProcessor = async () => {
      throw new SystemicError('model', 'session failed');
    };
    await expect(processIsolated(kafkaMessages(1), processor, options())).rejects.toBeInstanceOf(SystemicError);
  });
});

describe('processIsolated: watchdog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Each record progresses after `stepMs`, in turn; `stallers` never do (they hang until aborted). */
  function sequential(stallers: ReadonlySet<KafkaMessage>, stepMs: number, log: { chunks: string[][]; signals: AbortSignal[] }): ChunkProcessor {
    return async (chunk, ctx) => {
      log.chunks.push(offsets(chunk));
      log.signals.push(ctx.signal);
      for (const record of chunk) {
        if (stallers.has(record)) await hangUntilAborted(ctx);
        await sleep(stepMs);
        ctx.progress(record);
      }
      return outputsFor(chunk, []);
    };
  }

  /** Records progress concurrently after `stepMs`; `stallers` never do, and the chunk waits for all of them. */
  function concurrent(stallers: ReadonlySet<KafkaMessage>, stepMs: number, log: { chunks: string[][]; signals: AbortSignal[] }): ChunkProcessor {
    return async (chunk, ctx) => {
      log.chunks.push(offsets(chunk));
      log.signals.push(ctx.signal);
      await Promise.all(chunk.map(async (record) => {
        if (stallers.has(record)) return hangUntilAborted(ctx);
        await sleep(stepMs);
        ctx.progress(record);
      }));
      return outputsFor(chunk, []);
    };
  }

  it('does not end a chunk that keeps making progress, however long it takes in total', async () => {
    const log = { chunks: [] as string[][], signals: [] as AbortSignal[] };
    const o = options();
    // 32 records, one every 0.9 s: 28.8 s in all, never 1 s without progress.
    const promise = processIsolated(kafkaMessages(32), sequential(new Set(), 900, log), o);
    await vi.advanceTimersByTimeAsync(32 * 900);
    const result = await promise;
    expect(result.outputs).toHaveLength(32);
    expect(result.failed).toEqual([]);
    expect(log.chunks).toHaveLength(1);
    expect(log.signals[0]?.aborted).toBe(false);
    expect(o.isolations).toEqual([]);
  });

  it('ends a chunk one timeout after its last progress, not one timeout after its start', async () => {
    const records = kafkaMessages(4);
    const log = { chunks: [] as string[][], signals: [] as AbortSignal[] };
    // Records 0..2 progress at 0.6 s, 1.2 s, 1.8 s; record 3 hangs.
    const promise = processIsolated(records, sequential(new Set([records[3] as KafkaMessage]), 600, log), options({ isolateTotalStalls: true }));
    await vi.advanceTimersByTimeAsync(1_800 + TIMEOUT_MS - 1);
    expect(log.signals[0]?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(log.signals[0]?.aborted).toBe(true);
    await vi.runAllTimersAsync();
    await promise;
  });

  it('redoes the records that progressed and dead-letters the one that stalled as <stage>/Timeout', async () => {
    const records = kafkaMessages(32);
    const staller = records[20] as KafkaMessage;
    const log = { chunks: [] as string[][], signals: [] as AbortSignal[] };
    const o = options({ stage: 'fetch' });
    const promise = processIsolated(records, concurrent(new Set([staller]), 100, log), o);
    await vi.runAllTimersAsync();
    const result = await promise;

    expect(sorted(result.outputs.map((out) => out.source.offset))).toEqual(offsets(records.filter((r) => r !== staller)));
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.message).toBe(staller);
    expect({ stage: result.failed[0]?.error.stage, errorClass: result.failed[0]?.error.errorClass }).toEqual({ stage: 'fetch', errorClass: 'Timeout' });
    expect(result.failed[0]?.error.message).toContain('CHUNK_TIMEOUT_MS');
    // The whole chunk, then the 31 that progressed together, then the staller alone.
    expect(log.chunks.map((c) => c.length)).toEqual([32, 31, 1]);
    expect(log.chunks[2]).toEqual(['20']);
    expect(log.signals.map((s) => s.aborted)).toEqual([true, false, true]);
    expect(o.isolations).toEqual(['stall']);
  });

  it('ignores progress reported after the watchdog ended the attempt', async () => {
    const records = kafkaMessages(2);
    const late: ChunkContext[] = [];
    const processor: ChunkProcessor = async (chunk, ctx) => {
      if (chunk.length === 2) {
        late.push(ctx);
        ctx.progress(chunk[0] as KafkaMessage);
        return hangUntilAborted(ctx);
      }
      ctx.progress(chunk[0] as KafkaMessage);
      return outputsFor(chunk, []);
    };
    const promise = processIsolated(records, processor, options());
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    // Record 1 reports progress only after its chunk was ended: it still counts as the staller.
    late[0]?.progress(records[1] as KafkaMessage);
    await vi.runAllTimersAsync();
    const result = await promise;
    expect(result.failed).toEqual([]);
    expect(offsets(result.outputs.map((out) => out.source))).toEqual(['0', '1']);
  });

  it('reports a chunk in which no record progressed as a watchdog SystemicError', async () => {
    const records = kafkaMessages(8);
    const log = { chunks: [] as string[][], signals: [] as AbortSignal[] };
    const o = options();
    const outcome = settle(processIsolated(records, sequential(new Set([records[0] as KafkaMessage]), 10, log), o));
    await vi.runAllTimersAsync();
    expect(await outcome).toBeInstanceOf(SystemicError);
    expect(await outcome).toMatchObject({ component: 'watchdog', message: expect.stringMatching(/chunk of 8 records stalled/) });
    expect(log.chunks).toHaveLength(1);
    expect(o.isolations).toEqual([]);
  });

  it('isolates a chunk in which no record progressed when isolateTotalStalls is set', async () => {
    const records = kafkaMessages(8);
    const staller = records[0] as KafkaMessage;
    const log = { chunks: [] as string[][], signals: [] as AbortSignal[] };
    const o = options({ isolateTotalStalls: true });
    const promise = processIsolated(records, sequential(new Set([staller]), 10, log), o);
    await vi.runAllTimersAsync();
    const result = await promise;
    expect(result.failed.map((f) => [f.message.offset, f.error.errorClass])).toEqual([['0', 'Timeout']]);
    expect(sorted(result.outputs.map((out) => out.source.offset))).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    // 8 → [0..3] + [4..7]; [0..3] stalls whole again → [0,1] + [2,3]; [0,1] → [0] + [1].
    expect(log.chunks).toEqual([
      ['0', '1', '2', '3', '4', '5', '6', '7'],
      ['0', '1', '2', '3'],
      ['0', '1'],
      ['0'],
      ['1'],
      ['2', '3'],
      ['4', '5', '6', '7'],
    ]);
    expect(o.isolations).toEqual(['stall', 'stall', 'stall']);
  });

  it('reports a chunk that hangs after every record progressed as a watchdog SystemicError, even with isolateTotalStalls', async () => {
    const processor: ChunkProcessor = async (chunk, ctx) => {
      for (const record of chunk) ctx.progress(record);
      return hangUntilAborted(ctx); // the shared step (the model call) never returns
    };
    const o = options({ isolateTotalStalls: true });
    const outcome = settle(processIsolated(kafkaMessages(8), processor, o));
    await vi.runAllTimersAsync();
    expect(await outcome).toBeInstanceOf(SystemicError);
    expect(await outcome).toMatchObject({ component: 'watchdog', message: expect.stringMatching(/after every record made progress/) });
    expect(o.isolations).toEqual([]);
  });

  it('hands the processor the checkpoint of its options, or one that resolves at once', async () => {
    const seen: ChunkContext[] = [];
    const processor: ChunkProcessor = async (chunk, ctx) => {
      seen.push(ctx);
      await ctx.checkpoint();
      return outputsFor(chunk, []);
    };
    const checkpoint = vi.fn(async () => {});
    await processIsolated(kafkaMessages(2), processor, options({ checkpoint }));
    expect(checkpoint).toHaveBeenCalledTimes(1);
    await processIsolated(kafkaMessages(2), processor, options());
    expect(seen[1]?.checkpoint).not.toBe(checkpoint);
    await expect(seen[1]?.checkpoint()).resolves.toBeUndefined();
  });

  it('clears its timer when the processor finishes in time', async () => {
    const processor: ChunkProcessor = async (chunk) => outputsFor(chunk, []);
    await processIsolated(kafkaMessages(4), processor, options());
    expect(vi.getTimerCount()).toBe(0);
  });

  // The module comment: "When every record of a chunk stalls, the cause is more likely shared (a hung server)
  // than the records: the chunk is reported as systemic and retried later." A chunk of one record (a quiet
  // partition, or the tail of a poll) is dead-lettered at its first stall instead.
  it('reports a one-record chunk that stalls at its first attempt as systemic, like a larger chunk', async () => {
    const processor: ChunkProcessor = (_chunk, ctx) => hangUntilAborted(ctx);
    const outcome = settle(processIsolated(kafkaMessages(1), processor, options({ isolateTotalStalls: false })));
    await vi.runAllTimersAsync();
    expect(await outcome).toBeInstanceOf(SystemicError);
    expect(await outcome).toMatchObject({ component: 'watchdog' });
  });
});
