import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { ReadProgress } from '../platform/consumer/read-progress.ts';
import { PipelineError, SystemicError } from '../platform/errors.ts';
import { groupIdFor } from '../platform/kafka-config.ts';
import type { Logger } from '../platform/logger.ts';
import { retry } from '../platform/retry.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import type { ModelTables } from './model-tables.ts';
import type { ApplyOutcome } from './routing-table.ts';

export interface WatcherOptions {
  kafka: Kafka;
  admin: Admin;
  serde: AvroSerde;
  topic: string;
  /** Every model's table; which records are whose is ModelTables.target's decision. */
  tables: ModelTables;
  logger: Logger;
  /** TOPIC_PREFIX: the watcher's consumer groups are named under it. */
  groupPrefix: string;
  /** Called before a new config takes effect, e.g. to create its per-version topics (model null: the default model). */
  beforeApply: (versions: string[], model: string | null) => Promise<void>;
  onOutcome: (outcome: ApplyOutcome, model: string | null) => void;
  /** The watcher has stopped for good (its consumer crashed without a restart). */
  onFailure: (err: unknown) => void;
}

/** Applying one record waits this long at most between tries while the registry or the broker is away. */
const RETRY = { attempts: Number.MAX_SAFE_INTEGER, baseMs: 200, capMs: 10_000 };

/**
 * Follows the compacted experiments topic from the beginning, so every router instance rebuilds the same
 * table on start and picks up changes within a fetch. A fresh group id per process: each instance reads all of
 * it, and nothing is committed. A registry or broker outage while applying a record is waited out (routing
 * goes on with the active table); a crash the consumer does not recover from is reported to onFailure.
 */
export class ExperimentWatcher {
  private consumer: Consumer | undefined;
  private progress: ReadProgress | undefined;
  private failed = false;
  private readonly stopping = new AbortController();

  constructor(private readonly o: WatcherOptions) {}

  /** False once the watcher's consumer has stopped for good. */
  get following(): boolean {
    return !this.failed;
  }

  async start(): Promise<void> {
    const consumer = this.o.kafka.consumer({ groupId: groupIdFor(this.o.groupPrefix, `router-experiments-${randomUUID()}`), maxWaitTimeInMs: 250 });
    this.consumer = consumer;
    this.progress = new ReadProgress(consumer);
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      this.failed = true;
      this.o.onFailure(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const key = message.key?.toString();
        if (key !== undefined) {
          await retry(() => this.handle(key, message.value), {
            ...RETRY,
            signal: this.stopping.signal,
            isRetryable: (err) => err instanceof SystemicError || (err as { retriable?: unknown }).retriable === true,
            onRetry: (err, attempt, delayMs) => this.o.logger.warn({ err: (err as Error).message, attempt, delayMs },
              'applying an experiment failed for an infrastructure reason; the active experiment stays until it succeeds'),
          });
        }
      },
    });
  }

  private async handle(key: string, value: Buffer | null): Promise<void> {
    let decoded: unknown = null;
    if (value !== null) {
      try {
        decoded = await this.o.serde.decode(value, 'ExperimentConfig');
      } catch (err) {
        if (!(err instanceof PipelineError)) throw err;
        // Undecodable bytes under a key this router does not follow are another router's business.
        if (!this.o.tables.follows(key)) return;
        this.o.logger.error({ err, key }, 'experiment record does not decode; the previous experiment stays active');
        this.o.onOutcome({ applied: false, errors: [err.message] }, null);
        return;
      }
    }
    const target = this.o.tables.target(key, decoded);
    if (target.kind === 'ignore') return;
    const model = target.kind === 'model' ? target.model : null;
    if (target.kind === 'reject') {
      this.o.logger.error({ key, errors: [target.error] }, 'experiment rejected; the previous one stays active');
      this.o.onOutcome({ applied: false, errors: [target.error] }, null);
      return;
    }
    const versions = (decoded as { versions?: unknown } | null)?.versions;
    if (Array.isArray(versions) && versions.every((v) => typeof v === 'string' && /^[a-zA-Z0-9._-]+$/.test(v))) {
      await this.o.beforeApply(versions as string[], model);
    }
    this.o.onOutcome(this.o.tables.apply(target, decoded), model);
  }

  /** Resolves once every record present at call time has been applied (the table is complete). */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const ends = (await this.o.admin.fetchTopicOffsets(this.o.topic)).map((e) => ({ ...e, topic: this.o.topic }));
    const deadline = Date.now() + timeoutMs;
    while (!this.progress?.hasReached(ends)) {
      if (Date.now() > deadline) throw new Error(`experiments topic ${this.o.topic} not read to its end within ${timeoutMs} ms; is the broker reachable?`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.consumer?.disconnect();
  }
}
