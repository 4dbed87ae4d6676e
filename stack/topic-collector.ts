import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { SystemicError } from '../platform/errors.ts';
import { headersToStrings } from '../platform/headers.ts';
import { retry } from '../platform/retry.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';

export interface Collected<T> {
  value: T;
  key: string | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
  /** The record's timestamp (ms): when it was produced. */
  timestamp: number;
}

/** Reads a topic from the beginning in the background and keeps every decoded record, for assertions. */
export class TopicCollector<T> {
  readonly items: Collected<T>[] = [];
  private consumer: Consumer | undefined;
  /** A consumer restarted by kafkajs (e.g. after a broker restart) reads from the beginning again. */
  private readonly seen = new Set<string>();

  constructor(private readonly kafka: Kafka, private readonly serde: AvroSerde, readonly topic: string) {}

  async start(): Promise<this> {
    this.consumer = this.kafka.consumer({ groupId: `collector-${randomUUID()}`, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
        const position = `${partition}/${message.offset}`;
        if (this.seen.has(position)) return;
        this.seen.add(position);
        this.items.push({
          // A registry restart is waited out: a collector that stopped would look like lost records.
          value: await retry(() => this.serde.decode<T>(message.value), {
            attempts: 100, baseMs: 200, capMs: 2_000, isRetryable: (err) => err instanceof SystemicError,
          }),
          key: message.key?.toString() ?? null,
          headers: headersToStrings(message.headers),
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
        });
      },
    });
    return this;
  }

  /** Polls until `done(items)` holds; throws with `describe()` after the timeout. */
  async waitFor(done: (items: Collected<T>[]) => boolean, timeoutMs: number, describe: () => string = () => `${this.items.length} records`): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.items)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting on ${this.topic}: ${describe()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
