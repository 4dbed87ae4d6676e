import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../platform/logger.ts';
import { ReadPositions } from '../platform/read-positions.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import { decisionKey, fromDecisionRecord, type RolloutDecisionRecord, type StoredDecision } from './records.ts';

export interface DecisionLogOptions {
  kafka: Kafka;
  admin: Admin;
  serde: AvroSerde;
  topic: string;
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
  private positions: ReadPositions | undefined;
  private readonly listeners = new Set<(d: StoredDecision) => void>();

  constructor(private readonly o: DecisionLogOptions) {}

  get decisions(): StoredDecision[] {
    return [...this.byKey.values()];
  }

  async start(): Promise<this> {
    const consumer = this.o.kafka.consumer({ groupId: `rollouts-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    this.positions = new ReadPositions(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        let decision: StoredDecision;
        try {
          decision = fromDecisionRecord(await this.o.serde.decode<RolloutDecisionRecord>(message.value));
        } catch (err) {
          this.o.logger.warn({ err, offset: message.offset }, 'a record on the rollouts topic is not a readable decision; skipped');
          return;
        }
        this.byKey.set(decisionKey(decision), decision);
        for (const listener of this.listeners) listener(decision);
      },
    });
    return this;
  }

  /** Resolves once every decision on the topic when called has been read. */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const ends = await this.o.admin.fetchTopicOffsets(this.o.topic);
    const deadline = Date.now() + timeoutMs;
    while (!this.positions?.reached(this.o.topic, ends)) {
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
        if (!match(d)) return;
        done(d);
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
