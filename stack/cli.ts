/**
 * npm run stack -- up [server...]       install once and start (idempotent)
 * npm run stack -- down [--purge] [server...]   stop; --purge also deletes data and logs
 * npm run stack -- status [server...]
 * npm run stack -- env                  `export` lines for the endpoints: eval "$(npm run -s stack -- env)"
 * --brokers 3 on any of them: a three-node Kafka cluster (stack/kafka-cluster.ts) instead of the single broker
 * --tracing on up, status and env: Jaeger too (stack/jaeger), and env exports OTEL_EXPORTER_OTLP_ENDPOINT
 */
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import {
  LOCAL_STACK_ENV,
  SERVER_NAMES,
  localStackStatus,
  startLocalStack,
  stopLocalStack,
  toExportLines,
} from './local-stack.ts';
import { CLUSTER_SIZES, KafkaCluster } from './kafka-cluster.ts';
import { JAEGER_ENV } from './jaeger/jaeger-server.ts';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

const USAGE = `usage: npm run stack -- <up|down|status|env> [--purge] [--tracing] [--brokers ${['1', ...CLUSTER_SIZES].join('|')}] [${SERVER_NAMES.join('|')}...]
  up       install (the first time) and start the servers, then print their endpoints
  down     stop them; --purge also deletes their data and logs
  status   each server's state, addresses and log file (exit 3 unless all are running)
  env      export lines for the endpoints
  --tracing  up, status and env include Jaeger (built once from the Go module proxy, ~13 min on 2 cores):
           OTLP/HTTP on ${JAEGER_ENV.OTEL_EXPORTER_OTLP_ENDPOINT}, traces at ${JAEGER_ENV.JAEGER_QUERY_URL}; down stops it too
  --brokers N (N > 1): a local Kafka cluster of N KRaft nodes (broker and controller each) on ports 19092,
           19094, ... with three replicas and min.insync.replicas 2, beside the single broker; up also starts
           the registry and MinIO, down stops only the cluster (the others serve the single broker too)
examples:
  npm run stack -- up
  eval "$(npm run -s stack -- env)"
  npm run stack -- status minio
  npm run stack -- up --brokers 3 && eval "$(npm run -s stack -- env --brokers 3)"`;

/** The cluster's endpoints: the stack's registry and object store, the cluster's brokers, durable topics. */
function clusterExportLines(cluster: KafkaCluster): string {
  return `${toExportLines({ ...LOCAL_STACK_ENV, KAFKA_BROKERS: cluster.bootstrap })}
export TOPIC_REPLICATION_FACTOR='3'
export TOPIC_MIN_INSYNC_REPLICAS='2'`;
}

async function clusterCommand(command: string | undefined, cluster: KafkaCluster, purge: boolean): Promise<number> {
  switch (command) {
    case 'up':
      await startLocalStack({ log: say, only: SERVER_NAMES.filter((name) => name !== 'kafka') });
      await cluster.start();
      say(`\nEndpoints (eval "$(npm run -s stack -- env --brokers ${cluster.count})" to export them):\n${clusterExportLines(cluster)}`);
      return 0;
    case 'down': {
      const stopped = await cluster.stop({ purge });
      if (stopped.length === 0) say('No node of the cluster was running.');
      return 0;
    }
    case 'status': {
      const statuses = await cluster.status();
      for (const status of statuses) {
        const pid = status.pid === undefined ? '' : ` pid ${status.pid}`;
        say(`${`kafka-node-${status.id}`.padEnd(16)} ${status.state.padEnd(8)}${pid}  ${status.listens}; log ${status.logFile}`);
      }
      return statuses.every((status) => status.state === 'running') ? 0 : 3;
    }
    case 'env':
      say(clusterExportLines(cluster));
      return 0;
    default:
      return exitWithUsage(USAGE, command === undefined ? 'name a command' : `unknown command "${command}"`);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(USAGE, {
    allowPositionals: true,
    options: { purge: { type: 'boolean', default: false }, brokers: { type: 'string', default: '1' }, tracing: { type: 'boolean', default: false } },
  });
  const [command, ...named] = positionals;
  const only = values.tracing ? [...(named.length > 0 ? named : SERVER_NAMES), 'jaeger'] : named;
  const exportLines = (): string => toExportLines(LOCAL_STACK_ENV) + (values.tracing
    ? Object.entries(JAEGER_ENV).map(([name, value]) => `\nexport ${name}='${value}'`).join('')
    : '');
  const purge = values.purge;
  if (values.brokers !== '1') {
    const count = Number(values.brokers);
    if (!(CLUSTER_SIZES as readonly number[]).includes(count)) return exitWithUsage(USAGE, `--brokers is 1 or ${CLUSTER_SIZES.join(' or ')}, not "${values.brokers}"`);
    if (only.length > 0) return exitWithUsage(USAGE, '--brokers acts on the whole cluster; name no servers with it');
    return clusterCommand(command, new KafkaCluster(count, say), purge);
  }

  switch (command) {
    case 'up': {
      await startLocalStack({ log: say, only });
      say(`\nEndpoints (eval "$(npm run -s stack -- env${values.tracing ? ' --tracing' : ''})" to export them):\n${exportLines()}`);
      return 0;
    }
    case 'down': {
      const { stopped } = await stopLocalStack({ log: say, only, purge });
      if (stopped.length === 0) say('Nothing of the local stack was running.');
      return 0;
    }
    case 'status': {
      const statuses = await localStackStatus({ log: say, only });
      for (const status of statuses) {
        const pid = status.pid === undefined ? '' : ` pid ${status.pid}`;
        say(`${status.name.padEnd(16)} ${status.state.padEnd(8)}${pid}  ${status.title}`);
        say(`${''.padEnd(16)} ${status.listens.join(', ')}; log ${status.logFile}`);
      }
      return statuses.every((status) => status.state === 'running') ? 0 : 3;
    }
    case 'env':
      say(exportLines());
      return 0;
    default:
      return exitWithUsage(USAGE, command === undefined ? 'name a command' : `unknown command "${command}"`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nstack: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
