import type { Batch, Consumer, EachBatchPayload } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.ts';

export interface BatchLoopOptions {
  consumer: Consumer;
  topics: string[];
  logger: Logger;
  registry: Registry;
  /** Records handed to `handle` at once; a larger poll is split into chunks of this size. */
  maxBatchSize: number;
  /**
   * Processes one chunk and resolves once every output of it is acknowledged by the broker (predictions and
   * dead letters alike). Only then are the chunk's offsets resolved and committed: at-least-once.
   */
  handle: (chunk: Batch['messages'], batch: Batch, heartbeat: () => Promise<void>) => Promise<void>;
  fromBeginning?: boolean;
  /** Partitions processed at once: overlaps one batch's fetching with another's model call. */
  partitionsConsumedConcurrently?: number;
}

/** Heartbeats while a long chunk runs, so slow fetches or inference never cost the group a rebalance. */
function keepAlive(heartbeat: () => Promise<void>, logger: Logger, everyMs = 2_000): () => void {
  const timer = setInterval(() => {
    heartbeat().catch((err: unknown) => logger.debug({ err }, 'heartbeat during batch failed'));
  }, everyMs);
  return () => clearInterval(timer);
}

/** Readiness of a service: true from joining its consumer group until the consumer crashes. */
export function groupMembership(consumer: Consumer): () => boolean {
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
  consumer.on(consumer.events.CRASH, () => { joined = false; });
  return () => joined;
}

/** The consume → process → produce → commit loop that the router, the inference consumers and the drift monitor share. */
export async function runBatchLoop(opts: BatchLoopOptions): Promise<void> {
  const lag = new Gauge({
    name: 'kafka_consumer_lag_records',
    help: 'Records between the last fetched offset and the partition high watermark',
    labelNames: ['topic', 'partition'],
    registers: [opts.registry],
  });
  await opts.consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? true });
  await opts.consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload) => {
      const stop = keepAlive(heartbeat, opts.logger);
      try {
        for (let i = 0; i < batch.messages.length; i += opts.maxBatchSize) {
          // After a rebalance or on shutdown, leave the rest uncommitted for whoever owns the partition next.
          if (!isRunning() || isStale()) break;
          const chunk = batch.messages.slice(i, i + opts.maxBatchSize);
          await opts.handle(chunk, batch, heartbeat);
          const last = chunk[chunk.length - 1];
          if (last) resolveOffset(last.offset);
          await commitOffsetsIfNecessary();
          await heartbeat();
        }
      } finally {
        stop();
      }
      lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
    },
  });
}
