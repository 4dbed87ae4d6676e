/**
 * Where the local stack listens, and the environment variables every component, test, demo and benchmark
 * reads to find the servers. The same names are used with Docker (docker-compose, Testcontainers).
 */

export const KAFKA_PORT = 9092;
export const KAFKA_CONTROLLER_PORT = 9093;
export const REGISTRY_PORT = 8081;
export const MINIO_PORT = 9000;
export const MINIO_CONSOLE_PORT = 9001;
export const LOOPBACK = '127.0.0.1';

/** Path of Apicurio Registry's Confluent-compatible API, the one @kafkajs/confluent-schema-registry speaks. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

export const MINIO_ROOT_USER = 'minioadmin';
export const MINIO_ROOT_PASSWORD = 'minioadmin';
export const IMAGES_BUCKET = 'images';

/** The names of the variables that point a process at the stack. */
export const STACK_ENV_NAMES = [
  'KAFKA_BROKERS',
  'SCHEMA_REGISTRY_URL',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_REGION',
  'S3_BUCKET',
  'S3_FORCE_PATH_STYLE',
] as const;

export type StackEnvName = (typeof STACK_ENV_NAMES)[number];
export type StackEnv = Record<StackEnvName, string>;

export const LOCAL_STACK_ENV: Readonly<StackEnv> = Object.freeze({
  KAFKA_BROKERS: `${LOOPBACK}:${KAFKA_PORT}`,
  SCHEMA_REGISTRY_URL: `http://${LOOPBACK}:${REGISTRY_PORT}${CCOMPAT_PATH}`,
  S3_ENDPOINT: `http://${LOOPBACK}:${MINIO_PORT}`,
  S3_ACCESS_KEY_ID: MINIO_ROOT_USER,
  S3_SECRET_ACCESS_KEY: MINIO_ROOT_PASSWORD,
  S3_REGION: 'us-east-1',
  S3_BUCKET: IMAGES_BUCKET,
  S3_FORCE_PATH_STYLE: 'true',
});

/** `export NAME=value` lines for `eval` in a shell; values are single-quoted so they survive any shell. */
export function toExportLines(env: Readonly<StackEnv>): string {
  return STACK_ENV_NAMES.map((name) => `export ${name}='${env[name].replaceAll("'", `'\\''`)}'`).join('\n');
}
