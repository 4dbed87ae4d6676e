/** Pure rendering of the KRaft brokers' configuration: the single node of the stack, or one node of a local cluster. */

export interface KafkaConfigInput {
  host: string;
  port: number;
  controllerPort: number;
  dataDir: string;
}

/** One node of a local multi-node cluster: every node is broker and controller, so the quorum is the nodes. */
export interface KafkaClusterNodeInput extends KafkaConfigInput {
  nodeId: number;
  /** Every node's id and controller port, this one included. */
  voters: readonly { nodeId: number; controllerPort: number }[];
}

/**
 * Fixed so the storage formatted on first start stays valid across restarts; any 16-byte base64url id would do.
 * (Storage is formatted once per data folder; `down --purge` wipes it.)
 */
export const KAFKA_CLUSTER_ID = 'aW1ncGlwZS1sb2NhbC1rZg'; // base64url of the 16 bytes "imgpipe-local-kf"
/** The local three-node cluster's id: another cluster than the single broker's, so no client mixes them up. */
export const KAFKA_MULTI_NODE_CLUSTER_ID = 'aW1ncGlwZS1jbHVzdGVyMw'; // base64url of "imgpipe-cluster3"

type Properties = Record<string, string | number | boolean>;

function listenerProperties(input: KafkaConfigInput): Properties {
  const { host, port, controllerPort, dataDir } = input;
  return {
    'process.roles': 'broker,controller',
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': 1,
    // Topics are created by the platform's admin code with their partitions and compaction; a typo must fail.
    'auto.create.topics.enable': false,
  };
}

function render(properties: Properties): string {
  return `${Object.entries(properties)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

/** Combined broker+controller on loopback, with defaults fit for one node and for tests that create their topics. */
export function renderServerProperties(input: KafkaConfigInput): string {
  const { host, controllerPort } = input;
  return render({
    'node.id': 1,
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    ...listenerProperties(input),
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // One node has no one to wait for; the default 3 s delay slows every consumer-group test.
    'group.initial.rebalance.delay.ms': 0,
  });
}

/**
 * How fast the controller fences a node that stopped heartbeating (a crash, a hung JVM). Until it does, the dead node
 * stays leader of its partitions and in every ISR, so each acks=all write (outputs, offset commits, transaction
 * markers) waits, on every partition: the cluster suite's SIGKILL stalls were this session (default 9 s) plus the
 * clients' retry backoff. 4 s at one heartbeat a second tolerates three missed heartbeats; lower would fence a
 * node merely slowed by a GC pause or a starved CPU, and each needless fencing moves leadership twice.
 */
export const CRASH_DETECTION = {
  'broker.heartbeat.interval.ms': 1_000,
  'broker.session.timeout.ms': 4_000,
} as const;

/**
 * One node of the production shape on loopback: three replicas and min.insync.replicas 2 for the internal
 * offsets, transaction-state and share-state topics and as the default for any other topic, so an acknowledged
 * write is on two nodes and one node may be down.
 */
export function renderClusterNodeProperties(input: KafkaClusterNodeInput): string {
  const replicas = Math.min(3, input.voters.length);
  const minIsr = Math.max(1, replicas - 1);
  return render({
    'node.id': input.nodeId,
    'controller.quorum.voters': input.voters.map((v) => `${v.nodeId}@${input.host}:${v.controllerPort}`).join(','),
    ...listenerProperties(input),
    'default.replication.factor': replicas,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replicas,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minIsr,
    // Unclean leader election would hand leadership to a replica missing acknowledged records.
    'unclean.leader.election.enable': false,
    'group.initial.rebalance.delay.ms': 0,
    ...CRASH_DETECTION,
  });
}

/** Log4j 2 to stdout, which the stack appends to the server's log file in the state folder. */
export function renderLog4j2Properties(): string {
  return [
    'status = warn',
    'appender.out.type = Console',
    'appender.out.name = out',
    'appender.out.layout.type = PatternLayout',
    'appender.out.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = info',
    'rootLogger.appenderRef.out.ref = out',
    // Per-partition state changes flood the log at INFO.
    'logger.state.name = state.change.logger',
    'logger.state.level = warn',
    '',
  ].join('\n');
}

/** The Kafka version pinned in stack/kafka/pom.xml, the one source of truth for it. */
export function readKafkaVersion(pomXml: string): string {
  const match = /<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/.exec(pomXml);
  if (!match?.[1]) throw new Error('stack/kafka/pom.xml has no <kafka.version> property');
  return match[1];
}
