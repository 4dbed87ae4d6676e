import type { EnvReader } from '../platform/config.ts';
import { groupIdFor } from '../platform/kafka-config.ts';
import { readRequestMaxAgeMs } from '../platform/request-deadline.ts';
import { readCommonSettings, type CommonSettings } from '../platform/service-config.ts';
import { readVersionHealthSettings, type VersionHealthSettings } from './version-health.ts';
import type { RequestLimits } from './request-limits.ts';

export interface RouterSettings extends CommonSettings {
  groupId: string;
  tableKey: string;
  fallbackVersion: string;
  maxBatchSize: number;
  /** Input partitions routed at once, each in its own transaction: one waiting on a broker does not hold the others. */
  partitionsConcurrently: number;
  health: VersionHealthSettings;
  /** maxAgeMs: REQUEST_MAX_AGE_MS, the deadline of requests that carry none (0: they never expire). */
  limits: RequestLimits & { maxAgeMs: number };
}

export function readRouterSettings(env: EnvReader): RouterSettings {
  const common = readCommonSettings(env, 'router', 9101);
  const settings = {
    ...common,
    groupId: env.string('ROUTER_GROUP_ID', groupIdFor(common.kafka.topicPrefix, 'router')),
    tableKey: env.string('ROUTER_EXPERIMENT_KEY', 'default'),
    fallbackVersion: env.string('ROUTER_DEFAULT_VERSION', 'v1'),
    maxBatchSize: env.int('ROUTER_MAX_BATCH_SIZE', 500, { min: 1, max: 100_000 }),
    partitionsConcurrently: env.int('ROUTER_PARTITIONS_CONSUMED_CONCURRENTLY', 4, { min: 1, max: 64 }),
    health: readVersionHealthSettings(env),
    limits: {
      maxUriBytes: env.int('ROUTER_MAX_URI_BYTES', 8_192, { min: 16, max: 1_000_000 }),
      maxMetadataBytes: env.int('ROUTER_MAX_METADATA_BYTES', 16_384, { min: 0, max: 10_000_000 }),
      maxAgeMs: readRequestMaxAgeMs(env),
    },
  };
  env.check(/^[a-zA-Z0-9._-]+$/.test(settings.fallbackVersion), 'ROUTER_DEFAULT_VERSION', settings.fallbackVersion, 'a version name of letters, digits, ".", "_" or "-"');
  return settings;
}
