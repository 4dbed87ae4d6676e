import type { EnvReader } from '../platform/config.ts';
import { groupIdFor } from '../platform/kafka-config.ts';
import { readCommonSettings, type CommonSettings } from '../platform/service-config.ts';

export interface ControllerSettings extends CommonSettings {
  controllerId: string;
  groupId: string;
  transactionalId: string;
  /** How often guards are evaluated (time alone can complete a step). */
  tickMs: number;
  transactionTimeoutMs: number;
}

export function readControllerSettings(env: EnvReader): ControllerSettings {
  const common = readCommonSettings(env, 'rollouts', 9104);
  const prefix = common.kafka.topicPrefix;
  const controllerId = env.string('ROLLOUT_CONTROLLER_ID', 'controller');
  env.check(/^[a-zA-Z0-9._-]+$/.test(controllerId), 'ROLLOUT_CONTROLLER_ID', controllerId, 'letters, digits, ".", "_" or "-"');
  return {
    ...common,
    controllerId,
    groupId: env.string('ROLLOUT_GROUP_ID', groupIdFor(prefix, 'rollouts')),
    // One transactional id per controller: a second process with the same id fences the first.
    transactionalId: groupIdFor(prefix, `rollouts.${controllerId}`),
    tickMs: env.int('ROLLOUT_TICK_MS', 1_000, { min: 50, max: 60_000 }),
    transactionTimeoutMs: env.int('TRANSACTION_TIMEOUT_MS', 15_000, { min: 1_000, max: 900_000 }),
  };
}
