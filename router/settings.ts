import type { EnvReader } from '../platform/config.ts';
import { readCommonSettings, type CommonSettings } from '../platform/service-config.ts';
import { readVersionHealthSettings, type VersionHealthSettings } from './version-health.ts';

export interface RouterSettings extends CommonSettings {
  groupId: string;
  tableKey: string;
  fallbackVersion: string;
  maxBatchSize: number;
  health: VersionHealthSettings;
}

export function readRouterSettings(env: EnvReader): RouterSettings {
  const settings = {
    ...readCommonSettings(env, 'router', 9101),
    groupId: env.string('ROUTER_GROUP_ID', 'router'),
    tableKey: env.string('ROUTER_EXPERIMENT_KEY', 'default'),
    fallbackVersion: env.string('ROUTER_DEFAULT_VERSION', 'v1'),
    maxBatchSize: env.int('ROUTER_MAX_BATCH_SIZE', 500, { min: 1, max: 100_000 }),
    health: readVersionHealthSettings(env),
  };
  env.check(/^[a-zA-Z0-9._-]+$/.test(settings.fallbackVersion), 'ROUTER_DEFAULT_VERSION', settings.fallbackVersion, 'a version name of letters, digits, ".", "_" or "-"');
  return settings;
}
