import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { ReadProgress } from '../platform/consumer/read-progress.ts';
import { groupIdFor } from '../platform/kafka-config.ts';
import type { Logger } from '../platform/logger.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import { decisionKey, fromDecisionRecord, type RolloutDecisionRecord, type StoredDecision } from './records.ts';

export interface DecisionLogOptions {
  kafka: Kafka;
  admin: Admin;
  serde: AvroSerde;
  topic: string;
  /** TOPIC_PREFIX: the reader's own group is named under it. */
  prefix: string;
  logger: Logger;
}

/**
 * Follows the rollouts topic from the beginning (read_committed, so only decisions whose transaction committed)
 * and keeps every decision in order, one per key. Used by the controller to restore its state, by the CLI to
 * show status and wait for the answer to a command.
 */
export class DecisionLog {
  private readonly byKey = new Map<string, StoredDecision>();
  private consumer: Consumer | undefined;
  private progress: ReadProgress | undefined;
  private readonly listeners = new Set<(d: StoredDecision) => void>();

  constructor(private readonly o: DecisionLogOptions) {}

  get decisions(): StoredDecision[] {
    return [...this.byKey.values()];
  }

  /** A group of its own per reader: every reader reads the whole topic, and nothing is committed. */
  async start(): Promise<this> {
    const consumer = this.o.kafka.consumer({ groupId: groupIdFor(this.o.prefix, `rollouts-reader-${randomUUID()}`), maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    this.progress = new ReadProgress(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: ({ message }) => this.handle(message) });
    return this;
  }

  private async handle(message: KafkaMessage): Promise<void> {
    let decision: StoredDecision;
    try {
      decision = fromDecisionRecord(await this.o.serde.decode<RolloutDecisionRecord>(message.value));
    } catch (err) {
      this.o.logger.warn({ err, offset: message.offset }, 'a record on the rollouts topic is not a readable decision; skipped');
      return;
    }
    this.byKey.set(decisionKey(decision), decision);
    for (const listener of this.listeners) listener(decision);
  }

  /** Resolves once every decision on the topic when called has been read. */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const ends = (await this.o.admin.fetchTopicOffsets(this.o.topic)).map((e) => ({ ...e, topic: this.o.topic }));
    const deadline = Date.now() + timeoutMs;
    while (!this.progress?.hasReached(ends)) {
      if (Date.now() > deadline) throw new Error(`the rollouts topic ${this.o.topic} was not read to its end within ${timeoutMs} ms; is the broker reachable?`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The first decision (already read or still to come) that `match` accepts, or null after `timeoutMs`. */
  waitFor(match: (d: StoredDecision) => boolean, timeoutMs: number): Promise<StoredDecision | null> {
    const seen = this.decisions.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const listener = (d: StoredDecision): void => {
        if (match(d)) done(d);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (d: StoredDecision | null): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(d);
      };
      this.listeners.add(listener);
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
