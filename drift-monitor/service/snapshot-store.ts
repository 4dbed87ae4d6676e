/** Reads and writes the drift monitor's snapshot on the compacted state topic (format: snapshot-codec.ts). */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { ReadProgress } from '../../platform/consumer/read-progress.ts';
import { groupIdFor } from '../../platform/kafka-config.ts';
import { headersToStrings } from '../../platform/headers.ts';
import type { OutgoingRecord } from '../../platform/produce-budget.ts';
import type { Logger } from '../../platform/logger.ts';
import {
  decodeSnapshot,
  encodeSnapshot,
  otherSlot,
  type DecodedSnapshot,
  type LatestByKey,
  type Slot,
  type Snapshot,
} from './snapshot-codec.ts';
import { fetchEnds } from '../../platform/topic-ends.ts';

export interface SnapshotStoreOptions {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  topic: string;
  monitorId: string;
  /** TOPIC_PREFIX, for the reader's consumer group. */
  groupPrefix: string;
  logger: Logger;
}

export interface WrittenSnapshot {
  /** Gzipped bytes on the topic. */
  bytes: number;
  jsonBytes: number;
  chunks: number;
}

export class SnapshotStore {
  /** The slot of the last committed snapshot; the next one is written into the other. */
  private committedSlot: Slot | undefined;

  constructor(private readonly o: SnapshotStoreOptions) {}

  /** Reads the state topic to its end and returns the latest complete snapshot of this monitor, if any. */
  async readLatest(timeoutMs = 60_000): Promise<DecodedSnapshot | null> {
    const latest = await this.readToEnd(timeoutMs);
    const decoded = await decodeSnapshot(latest, this.o.monitorId);
    this.committedSlot = decoded?.commit.slot;
    return decoded;
  }

  private async readToEnd(timeoutMs: number): Promise<LatestByKey> {
    const { topic, monitorId } = this.o;
    const latest: LatestByKey = new Map();
    const ends = (await fetchEnds(this.o.admin, topic)).filter((p) => Number(p.high) > Number(p.low));
    if (ends.length === 0) return latest;
    const isOurs = (key: string): boolean => key === monitorId || key.startsWith(`${monitorId}/`);
    // A fresh group each time: nothing is committed, every start reads the whole (compacted) topic. Read
    // committed (kafkajs' default): a snapshot written in an aborted transaction is never seen.
    const consumer = this.o.kafka.consumer({
      groupId: groupIdFor(this.o.groupPrefix, `${monitorId}-state-reader-${randomUUID()}`), maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024,
    });
    const progress = new ReadProgress(consumer);
    let done!: () => void;
    const caughtUp = new Promise<void>((resolve) => (done = resolve));
    consumer.on(consumer.events.END_BATCH_PROCESS, () => {
      if (progress.hasReached(ends)) done();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const key = message.key?.toString();
            if (key !== undefined && isOurs(key)) latest.set(key, { value: message.value, headers: headersToStrings(message.headers) });
          }
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`state topic ${topic} not read to its end within ${timeoutMs} ms; is the broker reachable?`)), timeoutMs);
      });
      await Promise.race([caughtUp, timeout]).finally(() => clearTimeout(timer));
    } finally {
      await consumer.disconnect();
    }
    return latest;
  }

  /**
   * The records of the next snapshot, in order (its chunks, then the commit record), for a transaction that also
   * holds what the snapshot counted; call committed() once the transaction has committed.
   */
  async prepare(snapshot: Snapshot): Promise<{ records: OutgoingRecord[]; slot: Slot; written: WrittenSnapshot }> {
    const slot = otherSlot(this.committedSlot);
    const { chunks, commit, bytes, jsonBytes } = await encodeSnapshot(snapshot, randomUUID(), slot);
    return {
      records: [...chunks, commit].map((r) => ({ topic: this.o.topic, key: r.key, value: r.value, headers: r.headers })),
      slot,
      written: { bytes, jsonBytes, chunks: chunks.length },
    };
  }

  committed(slot: Slot): void {
    this.committedSlot = slot;
  }

  /**
   * Writes a snapshot without a transaction: its chunks one record per send (a send becomes one record batch,
   * and the broker limits a batch's size), then the commit. Resolves once the commit is acknowledged by all
   * in-sync replicas.
   */
  async write(snapshot: Snapshot): Promise<WrittenSnapshot> {
    const { records, slot, written } = await this.prepare(snapshot);
    for (const record of records) await this.o.producer.send({ topic: this.o.topic, acks: -1, messages: [record] });
    this.committed(slot);
    return written;
  }
}
