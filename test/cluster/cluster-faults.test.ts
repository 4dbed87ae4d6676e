/**
 * The production shape under its routine and its accidents: a three-node KRaft cluster (test/cluster/cluster-setup.ts),
 * topics with three replicas and min.insync.replicas 2, the router and two v1 consumers under exactly-once at a
 * paced rate. Scenarios: a rolling restart of all three nodes, one at a time, each waiting until no partition is
 * under-replicated; SIGKILL of the node leading the busiest input partition, and of the active controller, each
 * restarted at once as a supervisor would; the busiest partition's leader paused (SIGSTOP) until it drops out of
 * an ISR, then resumed. Each prints one JSON line: lost, duplicates, longest stall per partition, stalls over 5 s,
 * the machine's load, and the issue's stall goal beside the measured stall. Lost and duplicates must be 0; stall
 * times are reported, not asserted: on the shared 2-core machine they follow the load (see the figures' load_1m).
 */
import { loadavg } from 'node:os';
import type { Admin } from 'kafkajs';
import * as kafkajs from 'kafkajs';
import { afterAll, expect, it } from 'vitest';
import { KafkaCluster } from '../../stack/kafka-cluster.ts';
import { replicationOf, waitUntilFullyReplicated } from '../../stack/kafka/replication.ts';
import { activeController } from '../../stack/kafka/kafka-tools.ts';
import { LoadPipeline, type DeliveryFigures } from './load-pipeline.ts';

/** Offered load: what the router and two consumers sustain beside three brokers on 2 cores. */
const RATE = Number(process.env.CLUSTER_RATE ?? 100);
const ROLLING_REQUESTS = Number(process.env.CLUSTER_ROLLING_REQUESTS ?? 10_000);
const KILL_REQUESTS = Number(process.env.CLUSTER_KILL_REQUESTS ?? 3_000);
const PAUSE_REQUESTS = Number(process.env.CLUSTER_PAUSE_REQUESTS ?? 3_000);
// KAFKA_SESSION_TIMEOUT_MS 6 s (the broker's group.min.session.timeout.ms): after a broker fault moves a group's
// coordinator, a member kafkajs restarted under a new id (its LeaveGroup went to the node that left) holds the group's
// rebalance until its old id's session expires, counted from when the new coordinator loaded the group (with 10 s, a
// v1 group rejoined 16.5 s after a controller SIGKILL). The duplicates once seen with 6 s were kafkajs' read_committed
// filter letting aborted records through (patches/kafkajs+2.2.4.patch), not the session.
const ENV = { DELIVERY: 'exactly-once', KAFKA_SESSION_TIMEOUT_MS: '6000', PAUSE_MAX_MS: '5000', LOG_LEVEL: 'info' };
const RECOVERY_MS = 180_000;
/** The test's upstream producer (LoadPipeline.openPublisher). */
const PUBLISHER = ((value: string): 'idempotent' | 'plain' => {
  if (value !== 'idempotent' && value !== 'plain') throw new Error(`CLUSTER_PUBLISHER is idempotent or plain, not "${value}"`);
  return value;
})(process.env.CLUSTER_PUBLISHER ?? 'idempotent');

const log = (line: string): void => void process.stderr.write(`[cluster ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
const cluster = new KafkaCluster(3, log);
const pipelines: LoadPipeline[] = [];

afterAll(async () => {
  await Promise.all(pipelines.map((p) => p.close()));
});

interface Disturbance {
  name: string;
  /** The issue's bound on the longest stall, reported beside the measured one. */
  goalMs: number;
  run: (p: LoadPipeline, mark: (event: string) => void) => Promise<void>;
}

const fullyReplicated = (): Promise<void> => cluster.withAdmin((admin) => waitUntilFullyReplicated(admin, RECOVERY_MS));

/**
 * The node leading the input partition that has received the most requests so far; with `notNode`, the busiest
 * partition led by another node.
 */
async function leaderOfBusiestInput(p: LoadPipeline, notNode?: number): Promise<{ node: number; partition: number }> {
  const counts = new Map<number, number>();
  for (const r of p.requests.items) counts.set(r.partition, (counts.get(r.partition) ?? 0) + 1);
  const topic = p.h.clients.topics.requests;
  const meta = await cluster.withAdmin((admin) => replicationOf(admin, [topic]));
  const busiest = meta.filter((m) => m.leader >= 0 && m.leader !== notNode).sort((a, b) => (counts.get(b.partition) ?? 0) - (counts.get(a.partition) ?? 0))[0];
  if (!busiest) throw new Error(`no partition of ${topic} has a leader${notNode === undefined ? '' : ` other than node ${notNode}`}`);
  return { node: busiest.leader, partition: busiest.partition };
}

async function scenario(count: number, d: Disturbance): Promise<DeliveryFigures> {
  const timeline: { at_s: number; event: string }[] = [];
  const started = Date.now();
  const mark = (event: string): void => {
    timeline.push({ at_s: Math.round((Date.now() - started) / 100) / 10, event });
    log(`${d.name}: ${event}`);
  };
  const p = await new LoadPipeline({ consumers: 2, env: ENV, publisher: PUBLISHER, source: `cluster-${d.name}` }).start();
  pipelines.push(p);
  mark('pipeline up: router, 2 × v1 (exactly-once)');
  const publishing = p.publish(count, RATE).then((n) => mark(`published ${n} requests`));
  // The disturbance begins once a tenth of the requests is out, so every partition is busy when it starts.
  await new Promise((r) => setTimeout(r, (count * 0.1 * 1000) / RATE));
  const load = loadavg()[0] ?? 0;
  await Promise.all([publishing, d.run(p, mark).then(() => mark('disturbance over'))]);
  await p.drain(60_000); // The longest stall seen here was 25 s.
  await new Promise((r) => setTimeout(r, 3_000)); // A late duplicate would land now.
  const f = p.figures();
  // Acknowledged to the publisher but not read from the input topic: are they in the log at all?
  const missing = f.lost_where.not_in_input_topic > 0 ? await p.findInInput(f.lost_ids) : undefined;
  process.stdout.write(`${JSON.stringify({
    test: 'cluster-faults', scenario: d.name, publisher: PUBLISHER, ...f,
    ...(missing === undefined ? {} : { lost_ids_found_by_a_fresh_reader: `${missing} of ${f.lost_ids.length}` }),
    goal_longest_stall_ms: d.goalMs, goal_met: f.lost === 0 && f.duplicates === 0 && f.longest_stall_ms <= d.goalMs,
    rate_per_s: RATE, load_1m_at_start: load, load_1m_at_end: loadavg()[0], seconds: Math.round((Date.now() - started) / 1000),
    started_at: new Date(started).toISOString(), logs: `.state/test-logs/${p.h.prefix}`, timeline,
  })}\n`);
  // A finished scenario's services would otherwise keep reconnecting, restarting and re-claiming transactional ids
  // through the next scenario's faults, on the same two cores, and lengthen its stalls.
  pipelines.splice(pipelines.indexOf(p), 1);
  await p.close();
  return f;
}

/**
 * Every request whose send was acknowledged gets exactly one prediction per input record, and an idempotent
 * publisher writes each request once. lost_where tells where a missing one stopped: not_in_input_topic means
 * acknowledged to the publisher yet absent from the input topic (a fresh reader checks,
 * lost_ids_found_by_a_fresh_reader), i.e. upstream of the router.
 */
function expectExactlyOnce(f: DeliveryFigures): void {
  expect(f.lost, `acknowledged requests without a prediction (${JSON.stringify(f.lost_where)})`).toBe(0);
  expect(f.duplicates, 'duplicate predictions under exactly-once').toBe(0);
  expect(f.predictions, 'one prediction per input record').toBe(f.collected.input);
  if (PUBLISHER === 'idempotent') expect(f.input_copies_beyond_one, 'requests an idempotent producer wrote twice').toBe(0);
}

it('creates the pipeline\'s topics and the internal ones with three replicas and min.insync.replicas 2', async () => {
  const p = await new LoadPipeline({ consumers: 1, env: ENV, publisher: PUBLISHER, source: 'cluster-durability' }).start();
  pipelines.push(p);
  const { topics } = p.h.clients;
  const ours = [topics.requests, topics.requestsFor('v1'), topics.predictions];
  const internal = ['__consumer_offsets', '__transaction_state'];
  const meta = await cluster.withAdmin((admin) => replicationOf(admin, [...ours, ...internal]));
  for (const topic of [...ours, ...internal]) {
    const replicas = meta.filter((m) => m.topic === topic).map((m) => m.replicas.length);
    expect(replicas.length, `${topic} partitions`).toBeGreaterThan(0);
    expect(new Set(replicas), `${topic} replicas`).toEqual(new Set([3]));
  }
  const minIsr = await cluster.withAdmin(async (admin: Admin) => {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [...ours, ...internal].map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas'] })),
    });
    return Object.fromEntries(resources.map((r) => [r.resourceName, r.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue]));
  });
  expect(minIsr).toEqual(Object.fromEntries([...ours, ...internal].map((t) => [t, '2'])));
  await p.close();
}, 300_000);

it(`rolling restart of all three nodes under ${ROLLING_REQUESTS} exactly-once requests: none lost, none twice`, async () => {
  expectExactlyOnce(await scenario(ROLLING_REQUESTS, {
    name: 'rolling-restart', goalMs: 10_000,
    run: async (_p, mark) => {
      // Operators restart the active controller last: one controller election instead of up to three.
      const controller = await activeController(cluster.bootstrap);
      for (const id of [...cluster.nodes.map((n) => n.id).filter((n) => n !== controller), controller]) {
        await cluster.stopNode(id);
        mark(`node ${id} stopped (SIGTERM, controlled shutdown)`);
        await cluster.startNode(id);
        mark(`node ${id} started`);
        await fullyReplicated();
        mark('no partition under-replicated');
      }
    },
  }));
}, 900_000);

it(`SIGKILL of the leader of the busiest input partition under ${KILL_REQUESTS} exactly-once requests: none lost, none twice`, async () => {
  expectExactlyOnce(await scenario(KILL_REQUESTS, {
    name: 'kill-partition-leader', goalMs: 15_000,
    run: async (p, mark) => {
      const { node, partition } = await leaderOfBusiestInput(p);
      await cluster.killNode(node);
      mark(`node ${node}, leader of ${p.h.clients.topics.requests}/${partition}, SIGKILLed`);
      await cluster.startNode(node);
      mark(`node ${node} restarted`);
      await fullyReplicated();
      mark('no partition under-replicated');
    },
  }));
}, 900_000);

it(`SIGKILL of the active controller under ${KILL_REQUESTS} exactly-once requests: none lost, none twice`, async () => {
  expectExactlyOnce(await scenario(KILL_REQUESTS, {
    name: 'kill-active-controller', goalMs: 15_000,
    run: async (_p, mark) => {
      const node = await activeController(cluster.bootstrap);
      await cluster.killNode(node);
      mark(`node ${node}, the active controller, SIGKILLed`);
      await cluster.startNode(node);
      mark(`node ${node} restarted; controller now ${await activeController(cluster.bootstrap)}`);
      await fullyReplicated();
      mark('no partition under-replicated');
    },
  }));
}, 900_000);

it(`a node paused (SIGSTOP) until it drops out of an ISR, then resumed, under ${PAUSE_REQUESTS} exactly-once requests: none lost, none twice`, async () => {
  expectExactlyOnce(await scenario(PAUSE_REQUESTS, {
    // The issue states no stall goal for a pause; the SIGKILL one is reported beside it.
    name: 'pause-partition-leader', goalMs: 15_000,
    run: async (p, mark) => {
      // Not the active controller, so this is one fault, not two: the SIGKILL scenario covers losing the controller.
      const { node, partition } = await leaderOfBusiestInput(p, await activeController(cluster.bootstrap));
      cluster.pause(node);
      mark(`node ${node}, leader of ${p.h.clients.topics.requests}/${partition}, SIGSTOPped`);
      try {
        await cluster.waitUntilOutOfIsr(node, RECOVERY_MS);
        mark(`node ${node} out of an ISR`);
      } finally {
        cluster.resume(node);
      }
      mark(`node ${node} resumed (SIGCONT)`);
      await fullyReplicated();
      mark('no partition under-replicated');
    },
  }));
}, 900_000);
