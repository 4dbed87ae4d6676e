import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { KAFKA_CLUSTER_ID, readKafkaVersion, renderServerProperties } from '../../../stack/kafka/kafka-config.ts';

const parse = (properties: string) =>
  Object.fromEntries(
    properties
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );

describe('renderServerProperties', () => {
  const properties = parse(
    renderServerProperties({ host: '127.0.0.1', port: 9092, controllerPort: 9093, dataDir: '/state/kafka/data' }),
  );

  it('runs one combined broker and controller on loopback', () => {
    expect(properties['process.roles']).toBe('broker,controller');
    expect(properties['controller.quorum.voters']).toBe('1@127.0.0.1:9093');
    expect(properties.listeners).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(properties['advertised.listeners']).toBe('PLAINTEXT://127.0.0.1:9092');
    expect(properties['log.dirs']).toBe('/state/kafka/data');
  });

  it('fits a single node: replication 1, no auto-created topics, no rebalance delay', () => {
    expect(properties['offsets.topic.replication.factor']).toBe('1');
    expect(properties['transaction.state.log.replication.factor']).toBe('1');
    expect(properties['transaction.state.log.min.isr']).toBe('1');
    expect(properties['auto.create.topics.enable']).toBe('false');
    expect(properties['group.initial.rebalance.delay.ms']).toBe('0');
  });
});

describe('KAFKA_CLUSTER_ID', () => {
  it('is a 16-byte base64url id, as kafka-storage format requires', () => {
    expect(Buffer.from(KAFKA_CLUSTER_ID, 'base64url')).toHaveLength(16);
    expect(KAFKA_CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('readKafkaVersion', () => {
  it('reads the version pinned in stack/kafka/pom.xml', () => {
    const pom = readFileSync(new URL('../../../stack/kafka/pom.xml', import.meta.url), 'utf8');
    expect(readKafkaVersion(pom)).toMatch(/^4\.\d+\.\d+$/);
  });

  it('says which file lacks the property', () => {
    expect(() => readKafkaVersion('<project/>')).toThrow(/stack\/kafka\/pom.xml/);
  });
});
