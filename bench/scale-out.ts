/**
 * Scale-out and scale-in under load on the three-node cluster (issue 18): the router and v1 consumers under
 * exactly-once at ~70 % of one consumer's measured throughput, while a second consumer joins and later leaves
 * (SIGTERM: it finishes its batch, commits and leaves the group), --cycles times. Per event: p99 latency
 * (submission to prediction) of the requests submitted in the 10 s after it against the calm p99 of the 10 s
 * before, and the longest stall of any partition among records arriving from the event to 15 s after. Prints one
 * JSON document with every event and the distribution. Not part of CI (about 10 minutes).
 *
 *   npx tsx bench/scale-out.ts [--cycles 10] [--load 0.7] [--consumer-env NAME=VALUE ...]
 *
 * Uses this checkout's three-node cluster (`npm run stack -- up --brokers 3`), starting it if needed and stopping
 * what it started; the registry and object store come from the local stack as for the tests.
 */
import { loadavg } from 'node:os';
import { percentileOfSorted } from '../drift-monitor/analytics/stats.ts';
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { acquireStack } from '../stack/acquire-stack.ts';
import { KafkaCluster } from '../stack/kafka-cluster.ts';
import { LoadPipeline } from '../test/cluster/load-pipeline.ts';

const USAGE = `usage: npx tsx bench/scale-out.ts [--cycles N] [--load SHARE] [--consumer-env NAME=VALUE ...]
  --cycles N        joins and leaves each (default 10)
  --load SHARE      offered load as a share of one consumer's measured throughput (default 0.7)
  --consumer-env    extra environment of every service, e.g. KAFKA_SESSION_TIMEOUT_MS=6000 (repeatable)`;

const WINDOW_MS = 10_000;
const STALL_WINDOW_MS = 15_000;
const log = (line: string): void => void process.stderr.write(`[scale-out ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface EventFigures {
  kind: 'join' | 'leave';
  at: number;
  /** Join: spawn until the new consumer is ready; leave: SIGTERM until it exited. */
  took_ms: number;
  requests: number;
  p99_ms: number;
  calm_p99_ms: number;
  p99_above_calm_ms: number;
  longest_partition_stall_ms: number;
  /** The same over the 15 s before the event: what the machine's load alone costs. */
  calm_partition_stall_ms: number;
  load_1m: number;
}

function p99(values: number[]): number {
  return values.length === 0 ? NaN : percentileOfSorted([...values].sort((a, b) => a - b), 99);
}

function distribution(values: number[]): { p50: number; p90: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentileOfSorted(sorted, 50), p90: percentileOfSorted(sorted, 90), max: sorted[sorted.length - 1] ?? NaN };
}

/** Records per second between the 20th and 90th percentile of their completion times (skips start-up and the tail). */
function rateOf(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const from = percentileOfSorted(sorted, 20);
  const to = percentileOfSorted(sorted, 90);
  return (sorted.length * 0.7) / Math.max(0.001, (to - from) / 1000);
}

/**
 * The router's and one consumer's throughput on a backlog: `backlog` requests published with no consumer running
 * (routed as fast as the router goes), then one consumer started on the routed backlog.
 */
async function calibrate(p: LoadPipeline, backlog: number): Promise<{ router: number; consumer: number }> {
  const since = Date.now();
  await p.publish(backlog, 100_000);
  await p.routed.waitFor((items) => items.length >= backlog, 600_000);
  await p.addConsumer();
  await p.predictions.waitFor((items) => items.length >= backlog, 600_000);
  return {
    router: rateOf(p.routed.items.filter((r) => r.timestamp >= since).map((r) => r.timestamp)),
    consumer: rateOf(p.predictions.items.map((r) => r.value.predicted_at)),
  };
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: {
      cycles: { type: 'string', default: '10' },
      load: { type: 'string', default: '0.7' },
      'consumer-env': { type: 'string', multiple: true, default: [] },
    },
  });
  const cycles = Number(values.cycles);
  const load = Number(values.load);
  if (!Number.isInteger(cycles) || cycles < 1) exitWithUsage(USAGE, `--cycles is a positive integer, not "${values.cycles}"`);
  if (!(load > 0 && load <= 1.5)) exitWithUsage(USAGE, `--load is a share in (0, 1.5], not "${values.load}"`);
  const extraEnv: Record<string, string> = {};
  for (const pair of values['consumer-env']) {
    const [name, ...rest] = pair.split('=');
    if (!name || rest.length === 0) exitWithUsage(USAGE, `--consumer-env takes NAME=VALUE, not "${pair}"`);
    extraEnv[name] = rest.join('=');
  }

  const stack = await acquireStack(log);
  const cluster = new KafkaCluster(3, log);
  const wasRunning = (await cluster.status()).every((s) => s.state === 'running');
  await cluster.start();
  Object.assign(process.env, { KAFKA_BROKERS: cluster.bootstrap, TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '2' });
  const env = { DELIVERY: 'exactly-once', KAFKA_SESSION_TIMEOUT_MS: '10000', LOG_LEVEL: 'info', ...extraEnv };
  const p = await new LoadPipeline({ consumers: 0, env, publisher: 'idempotent', source: 'scale-out' }).start();
  const events: EventFigures[] = [];
  const abort = new AbortController();
  const cleanUp = async (): Promise<void> => {
    abort.abort();
    await p.close();
    if (!wasRunning) await cluster.stop({ purge: true });
    await stack.stop();
  };
  // Interrupted: the services, and the cluster if this run started it, go too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  try {
    const capacity = await calibrate(p, 3_000);
    const rate = Math.max(1, Math.round(Math.min(capacity.consumer, capacity.router) * load));
    log(`router ${capacity.router.toFixed(0)} requests/s, one consumer ${capacity.consumer.toFixed(0)}/s; offering ${rate}/s (${load * 100} % of the slower)`);
    const publishing = p.publish(Number.MAX_SAFE_INTEGER, rate, abort.signal);
    await sleep(15_000);

    const measure = (kind: 'join' | 'leave', at: number, took: number): void => {
      // Figures from the collected records once the run is over; the machine's load now.
      events.push({ kind, at, took_ms: took, requests: 0, p99_ms: 0, calm_p99_ms: 0, p99_above_calm_ms: 0, longest_partition_stall_ms: 0, calm_partition_stall_ms: 0, load_1m: loadavg()[0] ?? 0 });
    };
    for (let i = 0; i < cycles; i++) {
      const joinAt = Date.now();
      await p.addConsumer();
      measure('join', joinAt, Date.now() - joinAt);
      log(`join ${i + 1}: ready after ${Date.now() - joinAt} ms`);
      await sleep(WINDOW_MS + 10_000);
      const leaveAt = Date.now();
      await p.removeConsumer();
      measure('leave', leaveAt, Date.now() - leaveAt);
      log(`leave ${i + 1}: exited after ${Date.now() - leaveAt} ms`);
      await sleep(WINDOW_MS + 10_000);
    }
    abort.abort();
    await publishing;
    await p.drain(300_000);
    await sleep(2_000);

    for (const e of events) {
      // A join disturbs from its spawn until the group has rebalanced, after it was ready: the window covers both.
      const to = e.at + e.took_ms * (e.kind === 'join' ? 1 : 0) + WINDOW_MS;
      const after = p.latenciesBetween(e.at, to);
      const calm = p.latenciesBetween(e.at - WINDOW_MS, e.at);
      e.requests = after.length;
      e.p99_ms = p99(after);
      e.calm_p99_ms = p99(calm);
      e.p99_above_calm_ms = e.p99_ms - e.calm_p99_ms;
      e.longest_partition_stall_ms = Math.round(p.stallsBetween(e.at, e.at + e.took_ms + STALL_WINDOW_MS)[0]?.ms ?? 0);
      e.calm_partition_stall_ms = Math.round(p.stallsBetween(e.at - STALL_WINDOW_MS, e.at)[0]?.ms ?? 0);
    }
    const summary = (kind: 'join' | 'leave') => {
      const of = events.filter((e) => e.kind === kind);
      return {
        events: of.length,
        p99_above_calm_ms: distribution(of.map((e) => e.p99_above_calm_ms)),
        longest_partition_stall_ms: distribution(of.map((e) => e.longest_partition_stall_ms)),
        calm_partition_stall_ms: distribution(of.map((e) => e.calm_partition_stall_ms)),
        took_ms: distribution(of.map((e) => e.took_ms)),
        // The goals: p99 at most 1 s above calm, no partition without progress for more than 2 s.
        meeting_goals: of.filter((e) => e.p99_above_calm_ms <= 1_000 && e.longest_partition_stall_ms <= 2_000).length,
      };
    };
    const f = p.figures();
    process.stdout.write(`${JSON.stringify({
      bench: 'scale-out', brokers: 3, delivery: 'exactly-once', env, router_per_s: Math.round(capacity.router), one_consumer_per_s: Math.round(capacity.consumer), offered_per_s: rate,
      lost: f.lost, duplicates: f.duplicates, requests: f.requests,
      join: summary('join'), leave: summary('leave'), events,
    }, null, 1)}\n`);
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`scale-out: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
