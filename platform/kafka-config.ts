import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { EnvReader } from './config.ts';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  sslCaPath: string | undefined;
  sslRejectUnauthorized: boolean;
  saslMechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  saslUsername: string | undefined;
  saslPassword: string | undefined;
  topicPrefix: string;
  partitions: number;
  /** undefined: as many replicas as brokers, up to 3 (decided when topics are created). */
  replicationFactor: number | undefined;
  /** undefined: one less than the replication factor, at least 1. */
  minInsyncReplicas: number | undefined;
}

const HOST_PORT = { regex: /^[^\s:,]+:\d{1,5}$/, expected: 'host:port (e.g. 127.0.0.1:9092)' };

export function readKafkaSettings(env: EnvReader, defaultClientId: string): KafkaSettings {
  const mechanism = env.oneOf('KAFKA_SASL_MECHANISM', ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const, 'none');
  const settings: KafkaSettings = {
    brokers: env.list('KAFKA_BROKERS', ['127.0.0.1:9092'], HOST_PORT),
    clientId: env.string('KAFKA_CLIENT_ID', defaultClientId),
    ssl: env.bool('KAFKA_SSL', false),
    sslCaPath: env.optionalString('KAFKA_SSL_CA_PATH'),
    sslRejectUnauthorized: env.bool('KAFKA_SSL_REJECT_UNAUTHORIZED', true),
    saslMechanism: mechanism === 'none' ? undefined : mechanism,
    saslUsername: env.optionalString('KAFKA_SASL_USERNAME'),
    saslPassword: env.optionalString('KAFKA_SASL_PASSWORD'),
    topicPrefix: env.string('TOPIC_PREFIX', 'images'),
    partitions: env.int('TOPIC_PARTITIONS', 4, { min: 1, max: 10_000 }),
    replicationFactor: optionalCount(env, 'TOPIC_REPLICATION_FACTOR'),
    minInsyncReplicas: optionalCount(env, 'TOPIC_MIN_INSYNC_REPLICAS'),
  };
  if (settings.replicationFactor !== undefined && settings.minInsyncReplicas !== undefined) {
    env.check(settings.minInsyncReplicas <= settings.replicationFactor, 'TOPIC_MIN_INSYNC_REPLICAS', String(settings.minInsyncReplicas),
      `at most TOPIC_REPLICATION_FACTOR (${settings.replicationFactor}), or no write would ever be acknowledged`);
  }
  env.check(/^[a-zA-Z0-9._-]+$/.test(settings.topicPrefix), 'TOPIC_PREFIX', settings.topicPrefix, 'letters, digits, ".", "_" or "-"');
  if (settings.saslMechanism) {
    env.check(settings.saslUsername !== undefined, 'KAFKA_SASL_USERNAME', '', `a user name when KAFKA_SASL_MECHANISM=${mechanism}`);
    env.check(settings.saslPassword !== undefined, 'KAFKA_SASL_PASSWORD', '', `a password when KAFKA_SASL_MECHANISM=${mechanism}`);
  }
  return settings;
}

/** An integer from 1 to 10, or `auto`/unset for undefined. */
function optionalCount(env: EnvReader, name: string): number | undefined {
  const value = env.optionalString(name);
  if (value === undefined || value.toLowerCase() === 'auto') return undefined;
  const n = Number(value);
  env.check(/^\d+$/.test(value) && n >= 1 && n <= 10, name, value, 'an integer from 1 to 10, or auto');
  return /^\d+$/.test(value) && n >= 1 && n <= 10 ? n : undefined;
}

/**
 * Replicas and min.insync.replicas for new topics on a cluster of `brokers` brokers. Throws when the configured
 * min.insync.replicas exceeds the replica count, since no acks=all write would then ever succeed.
 */
export function durability(settings: Pick<KafkaSettings, 'replicationFactor' | 'minInsyncReplicas'>, brokers: number): { replicationFactor: number; minInsyncReplicas: number } {
  const replicationFactor = settings.replicationFactor ?? Math.max(1, Math.min(3, brokers));
  const minInsyncReplicas = settings.minInsyncReplicas ?? Math.max(1, replicationFactor - 1);
  if (minInsyncReplicas > replicationFactor) {
    throw new Error(`TOPIC_MIN_INSYNC_REPLICAS=${minInsyncReplicas} exceeds the ${replicationFactor} replica(s) topics get${settings.replicationFactor === undefined ? ` on this ${brokers}-broker cluster` : ''}: no write would ever be acknowledged. Lower it or raise TOPIC_REPLICATION_FACTOR.`);
  }
  return { replicationFactor, minInsyncReplicas };
}

/** A consumer group or transactional id under the deployment's prefix, so deployments sharing a cluster never meet. */
export function groupIdFor(prefix: string, name: string): string {
  return `${prefix}.${name}`;
}

/** kafkajs client options; SASL/SSL pass straight through so any managed Kafka works. */
export function toKafkaConfig(s: KafkaSettings): KafkaConfig {
  const ssl = s.ssl
    ? { rejectUnauthorized: s.sslRejectUnauthorized, ...(s.sslCaPath ? { ca: [readFileSync(s.sslCaPath, 'utf8')] } : {}) }
    : undefined;
  const sasl = s.saslMechanism
    ? ({ mechanism: s.saslMechanism, username: s.saslUsername ?? '', password: s.saslPassword ?? '' } as SASLOptions)
    : undefined;
  return {
    clientId: s.clientId,
    brokers: s.brokers,
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    connectionTimeout: 5_000,
  };
}
