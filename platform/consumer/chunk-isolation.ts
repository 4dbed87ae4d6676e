/**
 * Runs a service's chunk processor so that one record can never stop its partition: an unexpected exception is
 * narrowed down by splitting the chunk until the record that throws is alone, and that record becomes a dead
 * letter (InternalError) while the others are processed; a chunk that makes no progress for the watchdog's time
 * is ended, and the records that made none are retried alone. Only a SystemicError (infrastructure) escapes.
 * No Kafka here: the stream loop delivers what this returns.
 */
import type { KafkaMessage } from 'kafkajs';
import type { FailedRecord } from '../dead-letter.ts';
import { classify, PipelineError, SystemicError, type Stage } from '../errors.ts';
import { HEADER, headersToStrings } from '../headers.ts';
import type { OutgoingRecord } from '../produce-budget.ts';

export interface ChunkContext {
  topic: string;
  partition: number;
  /** Aborted when the watchdog ends the chunk: stop work, its results are discarded. */
  signal: AbortSignal;
  /** Tells the watchdog that this record has finished its own work (e.g. fetched and decoded). */
  progress(message: KafkaMessage): void;
  /**
   * Awaited before each record's own work and before the chunk's shared step: where a chunk of a lower-priority
   * lane gives way to the higher lane (priority lanes), and at once elsewhere.
   */
  checkpoint(): Promise<void>;
}

export interface ProcessedChunk {
  /** Records to produce, each with the input record it came from (too large: that record is dead-lettered). */
  outputs: { source: KafkaMessage; record: OutgoingRecord }[];
  failed: FailedRecord[];
  /**
   * Runs once the chunk's outputs are delivered and its offsets committed: metrics belong here. `dropped` holds
   * the records whose outputs were refused as too large (they became dead letters instead).
   */
  onDelivered?: (dropped: ReadonlySet<KafkaMessage>) => void;
}

/** Processes some records of one partition. Must have no effect outside what it returns until onDelivered. */
export type ChunkProcessor = (records: KafkaMessage[], ctx: ChunkContext) => Promise<ProcessedChunk>;

export interface IsolationOptions {
  topic: string;
  partition: number;
  /** The stage named on dead letters of failures the processor did not classify. */
  stage: Stage;
  /** The watchdog: a chunk with no progress for this long is ended. */
  timeoutMs: number;
  /**
   * When every record of a chunk stalls, the cause is more likely shared (a hung server) than the records: the
   * chunk is reported as systemic and retried later. Set this after repeated stalls of the same records, so
   * they are isolated one by one and the partition moves on.
   */
  isolateTotalStalls: boolean;
  /** Called each time a chunk is split or a record retried alone (a metric). */
  onIsolation?: (reason: 'exception' | 'stall') => void;
  /** The processor's ChunkContext.checkpoint; absent: one that resolves at once. */
  checkpoint?: () => Promise<void>;
}

/** The watchdog's verdict on a chunk. */
class Stalled extends Error {
  constructor(readonly progressed: ReadonlySet<KafkaMessage>, timeoutMs: number) {
    super(`no record made progress for ${timeoutMs} ms (CHUNK_TIMEOUT_MS)`);
  }
}

const resolved = (): Promise<void> => Promise.resolve();

export const EMPTY_CHUNK: ProcessedChunk = { outputs: [], failed: [] };

export function mergeChunks(parts: readonly ProcessedChunk[]): ProcessedChunk {
  const callbacks = parts.flatMap((p) => (p.onDelivered ? [p.onDelivered] : []));
  return {
    outputs: parts.flatMap((p) => p.outputs),
    failed: parts.flatMap((p) => p.failed),
    ...(callbacks.length > 0 ? { onDelivered: (dropped: ReadonlySet<KafkaMessage>) => callbacks.forEach((c) => c(dropped)) } : {}),
  };
}

export function failedRecord(o: Pick<IsolationOptions, 'topic' | 'partition'>, message: KafkaMessage, error: PipelineError): FailedRecord {
  return { topic: o.topic, partition: o.partition, message, error, requestId: headersToStrings(message.headers)[HEADER.requestId] };
}

/** One attempt under the watchdog: resolves with the processor's result or rejects with its error or Stalled. */
function attempt(records: KafkaMessage[], processor: ChunkProcessor, o: IsolationOptions): Promise<ProcessedChunk> {
  const { timeoutMs } = o;
  const aborter = new AbortController();
  const progressed = new Set<KafkaMessage>();
  return new Promise<ProcessedChunk>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        aborter.abort();
        reject(new Stalled(progressed, timeoutMs));
      }, timeoutMs);
    };
    arm();
    const ctx: ChunkContext = {
      topic: o.topic,
      partition: o.partition,
      signal: aborter.signal,
      progress: (message) => {
        if (aborter.signal.aborted || progressed.has(message)) return;
        progressed.add(message);
        arm();
      },
      checkpoint: o.checkpoint ?? resolved,
    };
    // A processor that throws synchronously is treated like one that rejects.
    Promise.resolve()
      .then(() => processor(records, ctx))
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

/** Processes `records`; see the module comment. Throws only SystemicError. */
export async function processIsolated(records: KafkaMessage[], processor: ChunkProcessor, o: IsolationOptions): Promise<ProcessedChunk> {
  if (records.length === 0) return EMPTY_CHUNK;
  try {
    return await attempt(records, processor, o);
  } catch (err) {
    if (err instanceof SystemicError) throw err;
    if (err instanceof Stalled) return isolateStall(records, processor, o, err);
    if (records.length === 1) {
      const error = err instanceof PipelineError ? err : new PipelineError(o.stage, 'InternalError', `unexpected error: ${classify(err, o.stage).message}`, false, { cause: err });
      return { outputs: [], failed: [failedRecord(o, records[0] as KafkaMessage, error)] };
    }
    o.onIsolation?.('exception');
    const middle = Math.ceil(records.length / 2);
    return mergeChunks([
      await processIsolated(records.slice(0, middle), processor, o),
      await processIsolated(records.slice(middle), processor, o),
    ]);
  }
}

async function isolateStall(records: KafkaMessage[], processor: ChunkProcessor, o: IsolationOptions, stall: Stalled): Promise<ProcessedChunk> {
  const suspects = records.filter((r) => !stall.progressed.has(r));
  if (suspects.length === 0) {
    // Every record did its own part and the chunk still hung: the shared step (the model call, the produce) did.
    throw new SystemicError('watchdog', `chunk of ${records.length} records stalled after every record made progress: ${stall.message}`);
  }
  if (suspects.length === records.length && !o.isolateTotalStalls) {
    throw new SystemicError('watchdog', `chunk of ${records.length} record${records.length === 1 ? '' : 's'} stalled: ${stall.message}`);
  }
  if (records.length === 1) {
    return { outputs: [], failed: [failedRecord(o, records[0] as KafkaMessage, new PipelineError(o.stage, 'Timeout', `record ${stall.message}`))] };
  }
  o.onIsolation?.('stall');
  if (suspects.length === records.length) {
    const middle = Math.ceil(records.length / 2);
    return mergeChunks([
      await processIsolated(records.slice(0, middle), processor, o),
      await processIsolated(records.slice(middle), processor, o),
    ]);
  }
  // The records that progressed are redone together; each one that did not is retried alone, and since the others
  // got through, one that stalls again alone is that record's own fault.
  const parts = [await processIsolated(records.filter((r) => stall.progressed.has(r)), processor, o)];
  for (const suspect of suspects) parts.push(await processIsolated([suspect], processor, { ...o, isolateTotalStalls: true }));
  return mergeChunks(parts);
}
