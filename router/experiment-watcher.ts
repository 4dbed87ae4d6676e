import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../platform/logger.ts';
import { TopicFollower } from '../platform/read-positions.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import type { ApplyOutcome, RoutingTable } from './routing-table.ts';

export interface WatcherOptions {
  kafka: Kafka;
  admin: Admin;
  serde: AvroSerde;
  topic: string;
  /** The record key on the compacted topic that this router follows. */
  tableKey: string;
  table: RoutingTable;
  logger: Logger;
  /** Called before a new config takes effect, e.g. to create its per-version topics. */
  beforeApply: (versions: string[]) => Promise<void>;
  onOutcome: (outcome: ApplyOutcome) => void;
}

/**
 * Follows the compacted experiments topic from the beginning, so every router instance rebuilds the same
 * table on start and picks up changes within a fetch. A fresh group id per process: each instance reads all of
 * it, and nothing is committed.
 */
export class ExperimentWatcher {
  private readonly follower: TopicFollower;

  constructor(private readonly o: WatcherOptions) {
    this.follower = new TopicFollower({
      kafka: o.kafka, admin: o.admin, topic: o.topic, groupPrefix: 'router-experiments',
      onMessage: async (message) => {
        if (message.key?.toString() === o.tableKey) await this.handle(message.value);
      },
    });
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  private async handle(value: Buffer | null): Promise<void> {
    let decoded: unknown = null;
    if (value !== null) {
      try {
        decoded = await this.o.serde.decode(value);
      } catch (err) {
        this.o.logger.error({ err }, 'experiment record does not decode; the previous experiment stays active');
        this.o.onOutcome({ applied: false, errors: [(err as Error).message] });
        return;
      }
    }
    const versions = (decoded as { versions?: unknown } | null)?.versions;
    if (Array.isArray(versions) && versions.every((v) => typeof v === 'string' && /^[a-zA-Z0-9._-]+$/.test(v))) {
      await this.o.beforeApply(versions as string[]);
    }
    this.o.onOutcome(this.o.table.apply(decoded));
  }

  /** Resolves once every record present at call time has been applied (the table is complete). */
  caughtUp(timeoutMs = 30_000): Promise<void> {
    return this.follower.caughtUp(timeoutMs);
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
