import { describe, expect, it } from 'vitest';

import { clusterBootstrap, clusterNodes } from '../../../stack/kafka-cluster.ts';
import { renderClusterNodeProperties } from '../../../stack/kafka/kafka-config.ts';
import { outOfSomeIsr, underReplicated } from '../../../stack/kafka/replication.ts';
import { parseQuorumLeader } from '../../../stack/kafka/kafka-tools.ts';

const parse = (properties: string): Record<string, string> =>
  Object.fromEntries(properties.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));

describe('the local three-node cluster', () => {
  const nodes = clusterNodes(3);
  const voters = nodes.map((n) => ({ nodeId: n.id, controllerPort: n.controllerPort }));
  const node2 = parse(renderClusterNodeProperties({ host: '127.0.0.1', port: 19094, controllerPort: 19095, dataDir: '/d', nodeId: 2, voters }));

  it('uses its own ports, apart from the single broker (9092/9093)', () => {
    expect(nodes.map((n) => [n.port, n.controllerPort])).toEqual([[19092, 19093], [19094, 19095], [19096, 19097]]);
    expect(clusterBootstrap(3)).toBe('127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096');
    expect(() => clusterNodes(2)).toThrow(/3 or 5 nodes, not 2/);
  });

  it('makes every node broker and controller of one quorum', () => {
    expect(node2['node.id']).toBe('2');
    expect(node2['process.roles']).toBe('broker,controller');
    expect(node2['controller.quorum.voters']).toBe('1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097');
    expect(node2.listeners).toBe('PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095');
  });

  it('replicates the internal topics three times with min.insync.replicas 2, and never elects an unclean leader', () => {
    expect(node2['offsets.topic.replication.factor']).toBe('3');
    expect(node2['transaction.state.log.replication.factor']).toBe('3');
    expect(node2['transaction.state.log.min.isr']).toBe('2');
    expect(node2['default.replication.factor']).toBe('3');
    expect(node2['min.insync.replicas']).toBe('2');
    expect(node2['unclean.leader.election.enable']).toBe('false');
  });

  it('fences a node that stopped heartbeating after 4 s, not the default 9 s, tolerating three missed heartbeats', () => {
    expect(node2['broker.session.timeout.ms']).toBe('4000');
    expect(node2['broker.heartbeat.interval.ms']).toBe('1000');
  });
});

describe('replication checks', () => {
  it('counts a partition short of in-sync replicas or without a leader as under-replicated', () => {
    const full = { topic: 't', partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3] };
    const short = { ...full, partition: 1, isr: [1, 3] };
    const leaderless = { ...full, partition: 2, leader: -1 };
    expect(underReplicated([full, short, leaderless]).map((p) => p.partition)).toEqual([1, 2]);
  });

  it('sees a node out of some ISR once one partition it replicates dropped it', () => {
    const p = (isr: number[]) => ({ topic: 't', partition: 0, leader: 1, replicas: [1, 2, 3], isr });
    expect(outOfSomeIsr([p([1, 2, 3]), p([1, 2, 3])], 3)).toBe(false);
    expect(outOfSomeIsr([p([1, 2, 3]), p([1, 2])], 3)).toBe(true);
    expect(outOfSomeIsr([{ ...p([1, 2]), replicas: [1, 2] }], 3)).toBe(false); // not its replica
  });

  it('reads the active controller from kafka-metadata-quorum describe --status', () => {
    const out = 'ClusterId:              aW1ncGlwZS1jbHVzdGVyMw\nLeaderId:               2\nLeaderEpoch:            5\nHighWatermark:          1234\n';
    expect(parseQuorumLeader(out)).toBe(2);
    expect(() => parseQuorumLeader('no quorum')).toThrow(/no LeaderId/);
  });
});
