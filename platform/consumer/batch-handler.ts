/**
 * kafkajs' eachBatch for the consume loop: claims the partition, skips what a previous owner (or attempt) already
 * committed, cuts the rest into chunks, has each processed, and delivers them with a common commit. A systemic
 * failure ends the batch and is handed on (the partition is paused and the batch fetched again later).
 */
import type { Batch, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { FailedRecord } from '../dead-letter.ts';
import { SystemicError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { OutgoingRecord } from '../produce-budget.ts';
import type { ProcessedChunk } from './chunk-isolation.ts';
import type { Delivery } from './delivery.ts';

/** A processed chunk with its outputs fitted and its dead letters encoded. */
export interface ChunkResult {
  records: OutgoingRecord[];
  processed: ProcessedChunk;
  failed: FailedRecord[];
  dropped: ReadonlySet<KafkaMessage>;
}

export interface BatchHandlerOptions {
  /** undefined: the processor publishes and keeps positions itself (the drift monitor). */
  delivery: Delivery | undefined;
  /**
   * Which ownership of the partition this member is in (GroupTracker.ownedSince): the claim is made for it, and a
   * batch whose partition changed hands meanwhile stops and leaves the rest to the next owner.
   */
  ownership(topic: string, partition: number): number | undefined;
  processChunk(chunk: KafkaMessage[], topic: string, partition: number): Promise<ChunkResult>;
  maxBatchSize: number;
  commitMaxChunks: number;
  commitIntervalMs: number;
  /** The partition went forward (delivered, or found already committed): it is healthy again. */
  succeeded(topic: string, partition: number): void;
  /** A systemic failure of a partition this member still owns: it is paused and retried. */
  systemic(err: SystemicError, topic: string, partition: number): void;
  onDeadLetters?: (failed: readonly FailedRecord[]) => void;
  /** Awaited before each chunk (priority lanes, lane-scheduler.ts: the normal lane waits while the high lane works). */
  turn?(): Promise<void>;
  /** A chunk of `records` records was processed. */
  served?(records: number): void;
  logger: Logger;
  /** Milliseconds between heartbeats while a long chunk runs. */
  heartbeatEveryMs?: number;
}

/** Processed chunks of one partition waiting for their common commit. */
interface PendingCommit {
  records: OutgoingRecord[];
  chunks: Omit<ChunkResult, 'records'>[];
  since: number;
  /** The offset to commit: past the last chunk's records. */
  offset: string;
  last: KafkaMessage;
}

/** Heartbeats while a long chunk runs, so slow fetches or inference never cost the group a rebalance. */
function keepAlive(heartbeat: () => Promise<void>, logger: Logger, everyMs: number): () => void {
  const timer = setInterval(() => {
    heartbeat().catch((err: unknown) => logger.debug({ err }, 'heartbeat during batch failed'));
  }, everyMs);
  return () => clearInterval(timer);
}

/** The offset to commit after a chunk: past its last record, and past the batch's trailing transaction markers. */
export function nextOffsetAfter(chunk: readonly KafkaMessage[], batch: Pick<Batch, 'lastOffset'>, lastOfBatch: boolean): string {
  const last = chunk[chunk.length - 1] as KafkaMessage;
  const through = lastOfBatch ? BigInt(batch.lastOffset()) : BigInt(last.offset);
  return String((through > BigInt(last.offset) ? through : BigInt(last.offset)) + 1n);
}

export function createBatchHandler(o: BatchHandlerOptions): (payload: EachBatchPayload) => Promise<void> {
  const log = o.logger;
  return async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
    const { topic, partition } = batch;
    const ownership = o.ownership(topic, partition);
    const stopHeartbeats = keepAlive(heartbeat, log, o.heartbeatEveryMs ?? 2_000);
    try {
      let messages = batch.messages;
      try {
        if (ownership === undefined) return; // fetched before a rebalance took the partition away
        const committed = await o.delivery?.claim(topic, partition, ownership);
        if (committed !== undefined && messages.length > 0 && BigInt((messages[0] as KafkaMessage).offset) < committed) {
          const done = messages.filter((m) => BigInt(m.offset) < committed);
          if (done.length > 0) {
            log.info({ topic, partition, skipped: done.length, committed: String(committed) }, 'skipping records a previous owner already committed');
            resolveOffset((done[done.length - 1] as KafkaMessage).offset);
            messages = messages.slice(done.length);
            // All of it committed already (an EndTxn whose answer was lost, most often): the partition went
            // forward, and no delivery of this batch will say so.
            if (messages.length === 0) o.succeeded(topic, partition);
          }
        }
        // Chunks of a backlog share a commit (up to COMMIT_MAX_CHUNKS or COMMIT_INTERVAL_MS): one transaction's
        // round trips and markers are paid for several chunks; a batch's last chunk always commits at once.
        let pending: PendingCommit | undefined;
        const commit = async (): Promise<void> => {
          if (!pending) return;
          const done = pending;
          pending = undefined;
          await o.delivery?.deliver(done.records, { topic, partition, offset: done.offset, ownership }, commitOffsetsIfNecessary);
          resolveOffset(done.last.offset);
          o.succeeded(topic, partition);
          for (const c of done.chunks) {
            c.processed.onDelivered?.(c.dropped);
            if (c.failed.length > 0) o.onDeadLetters?.(c.failed);
          }
        };
        for (let i = 0; i < messages.length; i += o.maxBatchSize) {
          await o.turn?.();
          // On shutdown, commit what is processed; after a rebalance or a seek, leave everything uncommitted to
          // whoever owns the partition next.
          if (!isRunning()) break;
          if (isStale() || o.ownership(topic, partition) !== ownership) {
            pending = undefined;
            break;
          }
          const chunk = messages.slice(i, i + o.maxBatchSize);
          const lastOfBatch = i + o.maxBatchSize >= messages.length;
          const { records, processed, failed, dropped } = await o.processChunk(chunk, topic, partition);
          o.served?.(chunk.length);
          pending ??= { records: [], chunks: [], since: Date.now(), offset: '', last: chunk[0] as KafkaMessage };
          pending.records.push(...records);
          pending.chunks.push({ processed, failed, dropped });
          pending.offset = nextOffsetAfter(chunk, batch, lastOfBatch);
          pending.last = chunk[chunk.length - 1] as KafkaMessage;
          if (lastOfBatch || pending.chunks.length >= o.commitMaxChunks || Date.now() - pending.since >= o.commitIntervalMs) await commit();
          await heartbeat();
        }
        await commit();
      } catch (err) {
        if (!(err instanceof SystemicError)) throw err;
        // A partition that changed hands meanwhile is the next owner's: pausing it here would only hold it.
        if (o.ownership(topic, partition) !== ownership) {
          log.info({ topic, partition, err: err.message }, 'batch of a partition this member no longer owns failed; left to its owner');
          return;
        }
        o.systemic(err, topic, partition);
      }
    } finally {
      stopHeartbeats();
    }
  };
}
