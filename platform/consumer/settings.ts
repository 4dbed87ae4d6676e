import type { EnvReader } from '../config.ts';
import type { DeliveryMode } from './delivery.ts';
import type { PauseSettings } from './partition-pauses.ts';

/** How every consuming service delivers, isolates failures and bounds its outputs (README "Delivery and failure"). */
export interface StreamSettings {
  delivery: DeliveryMode;
  /** The watchdog: a chunk with no record making progress for this long is ended. */
  chunkTimeoutMs: number;
  pause: PauseSettings;
  /** Bytes per produce call; lowered at start to the output topics' max.message.bytes. */
  produceMaxBytes: number;
  /** A dead letter keeps the original value up to this many bytes. */
  dlqMaxValueBytes: number;
  lagIntervalMs: number;
  /** A transaction left open by a crashed writer is aborted by the broker after this long. */
  transactionTimeoutMs: number;
  /** A member silent this long is dropped from its group and its partitions reassigned. */
  sessionTimeoutMs: number;
  /** How often a member tells the coordinator it is alive, and so how soon it learns that its group rebalances. */
  heartbeatIntervalMs: number;
  /** Chunks of one poll committed together at most (one transaction under exactly-once). */
  commitMaxChunks: number;
  /** A commit waits at most this long for further chunks of the same poll. */
  commitIntervalMs: number;
}

export function readStreamSettings(env: EnvReader): StreamSettings {
  const sessionTimeoutMs = env.int('KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 6_000, max: 300_000 });
  // A member learns of a rebalance only at its next heartbeat, and every member stops until the last one rejoins:
  // 3 s (kafkajs' default) measured join and leave stalls up to 3 s on three brokers (bench/scale-out.ts).
  const heartbeatIntervalMs = env.int('KAFKA_HEARTBEAT_INTERVAL_MS', 1_000, { min: 100, max: 100_000 });
  env.check(heartbeatIntervalMs * 3 <= sessionTimeoutMs, 'KAFKA_HEARTBEAT_INTERVAL_MS', String(heartbeatIntervalMs),
    `at most a third of KAFKA_SESSION_TIMEOUT_MS (${sessionTimeoutMs}), so that a lost heartbeat or two does not drop the member`);
  return {
    // Outputs, dead letters and consumed offsets in one Kafka transaction per chunk; or acks=all then commit.
    delivery: env.oneOf('DELIVERY', ['exactly-once', 'at-least-once'] as const, 'exactly-once'),
    chunkTimeoutMs: env.int('CHUNK_TIMEOUT_MS', 60_000, { min: 100, max: 3_600_000 }),
    pause: {
      baseMs: env.int('PAUSE_BASE_MS', 500, { min: 1, max: 600_000 }),
      capMs: env.int('PAUSE_MAX_MS', 30_000, { min: 1, max: 3_600_000 }),
      notReadyAfterMs: env.int('PAUSED_NOT_READY_MS', 60_000, { min: 0, max: 86_400_000 }),
    },
    produceMaxBytes: env.int('PRODUCE_MAX_BYTES', 1_000_000, { min: 65_536, max: 100_000_000 }),
    dlqMaxValueBytes: env.int('DLQ_MAX_VALUE_BYTES', 262_144, { min: 0, max: 50_000_000 }),
    lagIntervalMs: env.int('LAG_INTERVAL_MS', 10_000, { min: 100, max: 3_600_000 }),
    // Readers wait behind an open transaction; a new owner aborts it at once, the broker after this time.
    transactionTimeoutMs: env.int('TRANSACTION_TIMEOUT_MS', 15_000, { min: 1_000, max: 900_000 }),
    // Heartbeats also run during long chunks, so this bounds failover time, not processing time.
    sessionTimeoutMs,
    heartbeatIntervalMs,
    // Only a backlog gives a poll several chunks, so latency at low load is untouched.
    commitMaxChunks: env.int('COMMIT_MAX_CHUNKS', 64, { min: 1, max: 1_000 }),
    commitIntervalMs: env.int('COMMIT_INTERVAL_MS', 1_000, { min: 0, max: 60_000 }),
  };
}
