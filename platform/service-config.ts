import type { EnvReader } from './config.ts';
import { readKafkaSettings, type KafkaSettings } from './kafka-config.ts';
import { readStreamSettings, type StreamSettings } from './consumer/settings.ts';
import type { RegistrySettings } from './schema-registry.ts';
import { DEFAULT_MODEL, MODEL_NAME_PATTERN } from './topics.ts';

/** What every service reads: Kafka, the schema registry and its ops HTTP server. */
export interface CommonSettings {
  kafka: KafkaSettings;
  registry: RegistrySettings;
  ops: { host: string; port: number };
  stream: StreamSettings;
  /** DEFAULT_MODEL: the model of requests that name none; its versions keep the topic names of a one-model deployment. */
  defaultModel: string;
}

export function readCommonSettings(env: EnvReader, service: string, defaultOpsPort: number): CommonSettings {
  const defaultModel = env.string('DEFAULT_MODEL', DEFAULT_MODEL);
  env.check(MODEL_NAME_PATTERN.test(defaultModel), 'DEFAULT_MODEL', defaultModel, 'a model name of letters, digits, "_" or "-" (no "."), e.g. fashion-mnist');
  return {
    defaultModel,
    kafka: readKafkaSettings(env, service),
    registry: {
      url: env.url('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:8081/apis/ccompat/v7'),
      username: env.optionalString('SCHEMA_REGISTRY_USERNAME'),
      password: env.optionalString('SCHEMA_REGISTRY_PASSWORD'),
    },
    ops: {
      host: env.string('METRICS_HOST', '127.0.0.1'),
      // 0 asks the OS for a free port: handy when several consumers of one version run on one machine.
      port: env.int('METRICS_PORT', defaultOpsPort, { min: 0, max: 65_535 }),
    },
    stream: readStreamSettings(env),
  };
}
