import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../../../platform/config.ts';
import { readKafkaSettings } from '../../../platform/kafka-config.ts';
import { readInferenceSettings } from '../../../inference-consumers/service/settings.ts';
import { readRouterSettings } from '../../../router/settings.ts';

const read = <T>(env: Record<string, string>, fn: (e: EnvReader) => T): T => {
  const reader = new EnvReader(env);
  const value = fn(reader);
  reader.done();
  return value;
};

const problems = (env: Record<string, string>, fn: (e: EnvReader) => unknown): string[] => {
  try {
    read(env, fn);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('EnvReader', () => {
  it('uses defaults that point at the local stack', () => {
    const kafka = read({}, (e) => readKafkaSettings(e, 'svc'));
    expect(kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(kafka.topicPrefix).toBe('images');
    expect(read({}, readRouterSettings).registry.url).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
  });

  it('parses typed values', () => {
    const s = read({ KAFKA_BROKERS: 'a:1, b:2', MAX_BATCH_SIZE: '64', ORT_EXECUTION_PROVIDERS: 'cuda,cpu', KAFKA_SSL: 'yes' }, readInferenceSettings);
    expect(s.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(s.kafka.ssl).toBe(true);
    expect(s.maxBatchSize).toBe(64);
    expect(s.session.executionProviders).toEqual(['cuda', 'cpu']);
    expect(s.session.allowSpinning).toBe(false);
    expect(s.consumerFetch).toEqual({ minBytes: 1, maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024, maxWaitTimeInMs: 50 });
  });

  it('collects every bad variable, each named with the form it expects', () => {
    const found = problems({ KAFKA_BROKERS: 'localhost', MAX_BATCH_SIZE: '0', ORT_GRAPH_OPTIMIZATION: 'max', KAFKA_SSL: 'maybe', SCHEMA_REGISTRY_URL: 'ftp://x' }, readInferenceSettings);
    expect(found).toHaveLength(5);
    expect(found.join('\n')).toMatch(/KAFKA_BROKERS="localhost": expected a comma-separated list of host:port/);
    expect(found.join('\n')).toMatch(/MAX_BATCH_SIZE="0": expected an integer from 1 to 4096/);
    expect(found.join('\n')).toMatch(/ORT_GRAPH_OPTIMIZATION="max": expected one of disabled \| basic \| extended \| all/);
    expect(found.join('\n')).toMatch(/KAFKA_SSL="maybe": expected true or false/);
    expect(found.join('\n')).toMatch(/SCHEMA_REGISTRY_URL="ftp:\/\/x": expected a URL/);
  });

  it('requires SASL credentials with a mechanism, and checks version names', () => {
    expect(problems({ KAFKA_SASL_MECHANISM: 'plain' }, (e) => readKafkaSettings(e, 'x')).join('\n')).toMatch(/KAFKA_SASL_USERNAME.*KAFKA_SASL_PASSWORD/s);
    expect(problems({ MODEL_VERSION: 'v1/../x' }, readInferenceSettings)[0]).toMatch(/^MODEL_VERSION=/);
    expect(problems({ ROUTER_DEFAULT_VERSION: 'a b' }, readRouterSettings)[0]).toMatch(/^ROUTER_DEFAULT_VERSION=/);
  });

  it('routes every input partition of the default topics at once unless told otherwise', () => {
    expect(read({}, readRouterSettings).partitionsConcurrently).toBe(4);
    expect(read({ ROUTER_PARTITIONS_CONSUMED_CONCURRENTLY: '1' }, readRouterSettings).partitionsConcurrently).toBe(1);
    expect(problems({ ROUTER_PARTITIONS_CONSUMED_CONCURRENTLY: '0' }, readRouterSettings)[0]).toMatch(/^ROUTER_PARTITIONS_CONSUMED_CONCURRENTLY="0": expected an integer from 1 to 64/);
  });

  it('treats empty values as unset', () => {
    expect(read({ TOPIC_PREFIX: '  ' }, (e) => readKafkaSettings(e, 'x')).topicPrefix).toBe('images');
  });
});
