/**
 * Apache Kafka's own operator tools (kafka-consumer-groups, kafka-transactions), run from the local stack's jars,
 * so tests can look at the broker the way an operator would rather than through our client code.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../paths.ts';
import { libsDir } from './kafka-server.ts';

const TOOLS = {
  'consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  transactions: 'org.apache.kafka.tools.TransactionsCommand',
  'metadata-quorum': 'org.apache.kafka.tools.MetadataQuorumCommand',
} as const;

/** Log4j to stderr at WARN: the tools' stdout is their answer. */
function quietLog4j(): string {
  const file = join(tmpdir(), 'imgpipe-kafka-tools-log4j2.properties');
  writeFileSync(file, ['status = error', 'appender.err.type = Console', 'appender.err.name = err', 'appender.err.target = SYSTEM_ERR',
    'appender.err.layout.type = PatternLayout', 'appender.err.layout.pattern = %p %m%n', 'rootLogger.level = warn', 'rootLogger.appenderRef.err.ref = err', ''].join('\n'));
  return file;
}

export async function kafkaTool(tool: keyof typeof TOOLS, bootstrap: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('java', [
    `-Dlog4j2.configurationFile=${quietLog4j()}`, '-cp', join(libsDir({ cacheDir: cacheDir() }), '*'), TOOLS[tool],
    '--bootstrap-server', bootstrap, ...args,
  ], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export interface GroupPartitionRow {
  group: string;
  topic: string;
  partition: number;
  currentOffset: number | null;
  logEndOffset: number;
  lag: number | null;
}

/** `kafka-consumer-groups --describe --group G` as rows (offsets shown as "-" are null). */
export async function describeGroup(bootstrap: string, group: string): Promise<GroupPartitionRow[]> {
  const out = await kafkaTool('consumer-groups', bootstrap, ['--describe', '--group', group]);
  return parseGroupDescription(out);
}

/** Pure: the table kafka-consumer-groups prints, as rows; header and notices are skipped. */
export function parseGroupDescription(out: string): GroupPartitionRow[] {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = lines.findIndex((l) => /^GROUP\s+TOPIC\s+PARTITION/.test(l));
  if (header < 0) return [];
  const number = (v: string | undefined): number | null => (v === undefined || v === '-' ? null : Number(v));
  return lines.slice(header + 1).filter((l) => !/^GROUP\s/.test(l)).map((l) => {
    const [group, topic, partition, current, end, lag] = l.split(/\s+/);
    return { group: group ?? '', topic: topic ?? '', partition: Number(partition), currentOffset: number(current), logEndOffset: Number(end), lag: number(lag) };
  });
}

/**
 * The node id of the active KRaft controller (kafka-metadata-quorum describe --status). The controller id in a
 * metadata response is not it: KRaft brokers answer clients with a random live broker there.
 */
export async function activeController(bootstrap: string): Promise<number> {
  return parseQuorumLeader(await kafkaTool('metadata-quorum', bootstrap, ['describe', '--status']));
}

/** Pure: LeaderId from `kafka-metadata-quorum describe --status`. */
export function parseQuorumLeader(out: string): number {
  const match = /^LeaderId:\s*(\d+)\s*$/m.exec(out);
  if (!match?.[1]) throw new Error(`kafka-metadata-quorum printed no LeaderId:\n${out}`);
  return Number(match[1]);
}
