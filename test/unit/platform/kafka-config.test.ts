import { describe, expect, it } from 'vitest';
import { durability, groupIdFor, readKafkaSettings } from '../../../platform/kafka-config.ts';
import { topicDurabilityProblems } from '../../../platform/kafka.ts';
import { readEnv } from './read-env.ts';

const read = (env: Record<string, string>) => readEnv(env, (reader) => readKafkaSettings(reader, 'test'));

describe('TOPIC_REPLICATION_FACTOR and TOPIC_MIN_INSYNC_REPLICAS', () => {
  it('are decided by the cluster size when unset or auto', () => {
    for (const env of [{}, { TOPIC_REPLICATION_FACTOR: 'auto', TOPIC_MIN_INSYNC_REPLICAS: 'auto' }] as Record<string, string>[]) {
      const { settings, problems } = read(env);
      expect(problems).toEqual([]);
      expect([settings.replicationFactor, settings.minInsyncReplicas]).toEqual([undefined, undefined]);
    }
  });

  it('take numbers', () => {
    const { settings, problems } = read({ TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '2' });
    expect(problems).toEqual([]);
    expect([settings.replicationFactor, settings.minInsyncReplicas]).toEqual([3, 2]);
  });

  it('accept min.insync.replicas equal to the replication factor', () => {
    expect(read({ TOPIC_REPLICATION_FACTOR: '2', TOPIC_MIN_INSYNC_REPLICAS: '2' }).problems).toEqual([]);
  });

  it('refuse a min.insync.replicas above the replication factor, naming the variable', () => {
    const { problems } = read({ TOPIC_REPLICATION_FACTOR: '2', TOPIC_MIN_INSYNC_REPLICAS: '3' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^TOPIC_MIN_INSYNC_REPLICAS="3": expected at most TOPIC_REPLICATION_FACTOR \(2\)/);
  });

  it.each(['0', '11', 'three', '2.5', '-1'])('refuse %j, naming the variable and the range', (value) => {
    const rf = read({ TOPIC_REPLICATION_FACTOR: value }).problems;
    expect(rf).toHaveLength(1);
    expect(rf[0]).toMatch(new RegExp(`^TOPIC_REPLICATION_FACTOR=${JSON.stringify(value)}: expected an integer from 1 to 10`));
    const minIsr = read({ TOPIC_MIN_INSYNC_REPLICAS: value }).problems;
    expect(minIsr[0]).toMatch(/^TOPIC_MIN_INSYNC_REPLICAS=.*: expected an integer from 1 to 10/);
  });

  it('report both a bad replication factor and a bad prefix at once', () => {
    expect(read({ TOPIC_REPLICATION_FACTOR: 'x', TOPIC_PREFIX: 'a b' }).problems.map((p) => p.split('=')[0])).toEqual(['TOPIC_REPLICATION_FACTOR', 'TOPIC_PREFIX']);
  });
});

describe('durability', () => {
  it('uses as many replicas as brokers, up to 3, and one fewer in sync, at least 1', () => {
    const auto = { replicationFactor: undefined, minInsyncReplicas: undefined };
    expect([1, 2, 3, 5].map((brokers) => durability(auto, brokers))).toEqual([
      { replicationFactor: 1, minInsyncReplicas: 1 },
      { replicationFactor: 2, minInsyncReplicas: 1 },
      { replicationFactor: 3, minInsyncReplicas: 2 },
      { replicationFactor: 3, minInsyncReplicas: 2 },
    ]);
  });

  it('keeps configured values', () => {
    expect(durability({ replicationFactor: 3, minInsyncReplicas: 3 }, 5)).toEqual({ replicationFactor: 3, minInsyncReplicas: 3 });
    expect(durability({ replicationFactor: 5, minInsyncReplicas: undefined }, 5)).toEqual({ replicationFactor: 5, minInsyncReplicas: 4 });
    expect(durability({ replicationFactor: undefined, minInsyncReplicas: 2 }, 3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  // readKafkaSettings compares the two only when both are set. TOPIC_MIN_INSYNC_REPLICAS=2 with an automatic
  // replication factor on a one-broker cluster creates topics with 1 replica and min.insync.replicas=2: every
  // acks=all produce then fails with NOT_ENOUGH_REPLICAS. Either a clamp or a refusal makes this pass.
  it('never yields a min.insync.replicas above the replication factor', () => {
    let wanted: ReturnType<typeof durability>;
    try {
      wanted = durability({ replicationFactor: undefined, minInsyncReplicas: 2 }, 1);
    } catch {
      return;
    }
    expect(wanted.minInsyncReplicas).toBeLessThanOrEqual(wanted.replicationFactor);
  });
});

describe('groupIdFor', () => {
  it('puts the deployment prefix first', () => {
    expect(groupIdFor('hdr', 'inference-v1')).toBe('hdr.inference-v1');
    expect(groupIdFor('images', 'router')).toBe('images.router');
    expect(groupIdFor('a', 'router')).not.toBe(groupIdFor('b', 'router'));
  });
});

describe('topicDurabilityProblems', () => {
  const wanted = { partitions: 4, replicationFactor: 3, minInsyncReplicas: 2 };

  it('finds nothing wrong with a topic as configured, or with more partitions or replicas', () => {
    expect(topicDurabilityProblems({ partitions: 4, replicas: 3, minIsr: 2 }, wanted)).toEqual([]);
    expect(topicDurabilityProblems({ partitions: 12, replicas: 5, minIsr: 2 }, wanted)).toEqual([]);
  });

  it('names each shortfall with the variable to look at', () => {
    const problems = topicDurabilityProblems({ partitions: 2, replicas: 1, minIsr: 1 }, wanted);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^2 partitions, fewer than the 4 configured \(TOPIC_PARTITIONS\)/);
    expect(problems[1]).toMatch(/^1 replicas, fewer than the 3 configured \(TOPIC_REPLICATION_FACTOR\)/);
    expect(problems[2]).toMatch(/^min\.insync\.replicas=1, not the 2 configured \(TOPIC_MIN_INSYNC_REPLICAS\).*kafka-configs --alter/);
  });

  it('reports a min.insync.replicas above the configured one too', () => {
    expect(topicDurabilityProblems({ partitions: 4, replicas: 3, minIsr: 3 }, wanted)).toEqual([
      'min.insync.replicas=3, not the 2 configured (TOPIC_MIN_INSYNC_REPLICAS); change it with kafka-configs --alter',
    ]);
  });

  it('says nothing about min.insync.replicas when the broker did not report it', () => {
    expect(topicDurabilityProblems({ partitions: 4, replicas: 3, minIsr: Number.NaN }, wanted)).toEqual([]);
  });
});
