import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Kafka, logLevel } from 'kafkajs';

import { KAFKA_CONTROLLER_PORT, KAFKA_PORT, LOOPBACK } from '../endpoints.ts';
import { REPO_ROOT } from '../paths.ts';
import { JAVA, MAVEN } from '../prerequisites.ts';
import { runLogged } from '../run-logged.ts';
import type { LaunchSpec } from '../processes.ts';
import type { LocalServer, ServerContext } from '../server.ts';
import { KAFKA_CLUSTER_ID, readKafkaVersion, renderLog4j2Properties, renderServerProperties } from './kafka-config.ts';

const POM = join(REPO_ROOT, 'stack', 'kafka', 'pom.xml');
export const KAFKA_VERSION = readKafkaVersion(readFileSync(POM, 'utf8'));
/** The marker records which pom the jars came from: a changed dependency list installs again. */
const POM_DIGEST = createHash('sha256').update(readFileSync(POM)).digest('hex');

const installDir = (ctx: Pick<ServerContext, 'cacheDir'>) => join(ctx.cacheDir, `kafka-${KAFKA_VERSION}`);
export const libsDir = (ctx: Pick<ServerContext, 'cacheDir'>) => join(installDir(ctx), 'libs');
/** Written last, so an interrupted download is redone rather than half-used. */
const installedMarker = (ctx: ServerContext) => join(installDir(ctx), '.installed');
export const propertiesFile = (ctx: Pick<ServerContext, 'stateDir'>) => join(ctx.stateDir, 'config', 'server.properties');
export const dataDir = (ctx: Pick<ServerContext, 'stateDir'>) => join(ctx.stateDir, 'data');

function java(ctx: ServerContext, mainClass: string, args: string[], jvmOptions: string[] = []) {
  return { command: 'java', args: [...jvmOptions, '-cp', join(libsDir(ctx), '*'), mainClass, ...args] };
}

export const kafkaServer: LocalServer = {
  name: 'kafka',
  title: `Apache Kafka ${KAFKA_VERSION} (KRaft, broker+controller)`,
  listens: [`PLAINTEXT ${LOOPBACK}:${KAFKA_PORT}`, `controller ${LOOPBACK}:${KAFKA_CONTROLLER_PORT}`],
  startupTimeoutMs: 120_000,
  stopGraceMs: 30_000,
  runTools: [JAVA],
  installTools: [MAVEN],

  processMarker: (ctx) => propertiesFile(ctx),

  isInstalled: (ctx) => existsSync(installedMarker(ctx)) && readFileSync(installedMarker(ctx), 'utf8').startsWith(POM_DIGEST),

  async install(ctx) {
    const partial = `${libsDir(ctx)}.partial`;
    rmSync(partial, { recursive: true, force: true });
    ctx.progress(`kafka: resolving Kafka ${KAFKA_VERSION} jars from Maven Central into ${libsDir(ctx)}`);
    await runLogged(
      {
        command: 'mvn',
        args: ['-B', '-ntp', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${partial}`],
      },
      join(ctx.stateDir, 'install.log'),
      ctx.progress,
      'kafka: still resolving jars',
    );
    rmSync(libsDir(ctx), { recursive: true, force: true });
    renameSync(partial, libsDir(ctx));
    writeFileSync(installedMarker(ctx), `${POM_DIGEST} ${new Date().toISOString()}\n`);
  },

  prepare: (ctx) =>
    prepareKafkaNode(ctx, renderServerProperties({ host: LOOPBACK, port: KAFKA_PORT, controllerPort: KAFKA_CONTROLLER_PORT, dataDir: dataDir(ctx) }), KAFKA_CLUSTER_ID, '1g'),

  isHealthy: () => kafkaAnswers(`${LOOPBACK}:${KAFKA_PORT}`),

  afterHealthy: (ctx) => warmUpCoordinators(`${LOOPBACK}:${KAFKA_PORT}`, ctx),
};

/**
 * Writes a node's configuration under ctx.stateDir, formats its storage the first time, and says how to launch it.
 * Shared by the single broker and the nodes of the local cluster (stack/kafka-cluster.ts).
 */
export async function prepareKafkaNode(ctx: ServerContext, serverProperties: string, clusterId: string, maxHeap: string): Promise<LaunchSpec> {
  const configDir = join(ctx.stateDir, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(propertiesFile(ctx), serverProperties);
  const log4jFile = join(configDir, 'log4j2.properties');
  writeFileSync(log4jFile, renderLog4j2Properties());

  if (!existsSync(join(dataDir(ctx), 'meta.properties'))) {
    ctx.progress(`kafka: formatting storage in ${dataDir(ctx)} (cluster id ${clusterId})`);
    const format = java(ctx, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', propertiesFile(ctx)], [
      `-Dlog4j2.configurationFile=${log4jFile}`,
    ]);
    await runLogged(format, join(ctx.stateDir, 'kafka.log'), ctx.progress, 'kafka: still formatting storage');
  }

  return java(ctx, 'kafka.Kafka', [propertiesFile(ctx)], [
    '-Xms256m',
    `-Xmx${maxHeap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
  ]);
}

/**
 * A freshly formatted broker creates __consumer_offsets and __transaction_state on first use and answers
 * "coordinator loading" until they are loaded; clients retry, but the first test would pay for it and sometimes
 * exhaust its retries. Using each coordinator once here makes `up` mean "ready for consumers and producers".
 */
export async function warmUpCoordinators(broker: string, ctx: ServerContext): Promise<void> {
  const kafka = new Kafka({
    clientId: 'imgpipe-stack-warmup',
    brokers: [broker],
    retry: { retries: 12, initialRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ transactionalId: 'imgpipe-stack-warmup', idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await admin.describeGroups(['imgpipe-stack-warmup']); // Finds the group coordinator.
    await producer.connect(); // InitProducerId through the transaction coordinator.
  } catch (error) {
    throw new Error(
      `kafka: answers, but its group or transaction coordinator did not become available (${(error as Error).message}); ` +
        `see ${join(ctx.stateDir, 'kafka.log')}`,
    );
  } finally {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
  }
}

/** The broker answers a metadata request, i.e. it has joined the KRaft quorum and registered. */
export async function kafkaAnswers(broker: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'imgpipe-stack-probe',
    brokers: [broker],
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
