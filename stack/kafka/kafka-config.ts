/** Pure rendering of the single-node KRaft broker's configuration. */

export interface KafkaConfigInput {
  host: string;
  port: number;
  controllerPort: number;
  dataDir: string;
}

/**
 * Fixed so the storage formatted on first start stays valid across restarts; any 16-byte base64url id would do.
 * (Storage is formatted once per data folder; `down --purge` wipes it.)
 */
export const KAFKA_CLUSTER_ID = 'aW1ncGlwZS1sb2NhbC1rZg'; // base64url of the 16 bytes "imgpipe-local-kf"

/** Combined broker+controller on loopback, with defaults fit for one node and for tests that create their topics. */
export function renderServerProperties(input: KafkaConfigInput): string {
  const { host, port, controllerPort, dataDir } = input;
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': 1,
    // Topics are created by the platform's admin code with their partitions and compaction; a typo must fail.
    'auto.create.topics.enable': false,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // One node has no one to wait for; the default 3 s delay slows every consumer-group test.
    'group.initial.rebalance.delay.ms': 0,
  };
  return `${Object.entries(properties)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
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
