/** Reads and writes the drift monitor's snapshot on the compacted state topic (format: snapshot-codec.ts). */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { headersToStrings } from '../../platform/headers.ts';
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
import { fetchEnds } from './topic-offsets.ts';

export interface SnapshotStoreOptions {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  topic: string;
  monitorId: string;
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
    const target = new Map(ends.map((p) => [p.partition, Number(p.high)]));
    const reached = new Map<number, number>();
    const isOurs = (key: string): boolean => key === monitorId || key.startsWith(`${monitorId}/`);
    // A fresh group each time: nothing is committed, every start reads the whole (compacted) topic.
    const consumer = this.o.kafka.consumer({ groupId: `${monitorId}-state-reader-${randomUUID()}`, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
    let done!: () => void;
    const caughtUp = new Promise<void>((resolve) => (done = resolve));
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
          reached.set(batch.partition, Number(batch.lastOffset()) + 1);
          if ([...target].every(([p, high]) => (reached.get(p) ?? 0) >= high)) done();
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
   * Writes a snapshot: its chunks one record per send (a send becomes one record batch, and the broker limits a
   * batch's size), then the commit. Resolves once the commit is acknowledged by all in-sync replicas.
   */
  async write(snapshot: Snapshot): Promise<WrittenSnapshot> {
    const slot = otherSlot(this.committedSlot);
    const { chunks, commit, bytes, jsonBytes } = await encodeSnapshot(snapshot, randomUUID(), slot);
    for (const chunk of chunks) await this.o.producer.send({ topic: this.o.topic, acks: -1, messages: [chunk] });
    await this.o.producer.send({ topic: this.o.topic, acks: -1, messages: [commit] });
    this.committedSlot = slot;
    return { bytes, jsonBytes, chunks: chunks.length };
  }
}
