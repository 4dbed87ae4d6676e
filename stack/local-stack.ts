/**
 * The local stack without Docker: Apache Kafka (KRaft), Apicurio Registry (Confluent-compatible API) and MinIO,
 * installed once into the user cache and run on 127.0.0.1 with state under .state/stack/.
 * Used by `npm run stack`, the integration tests' global setup, the demo and the benchmarks.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { LOCAL_STACK_ENV, type StackEnv } from './endpoints.ts';
import { describeLog, logSize, waitUntilHealthy } from './health.ts';
import { jaegerServer } from './jaeger/jaeger-server.ts';
import { kafkaServer } from './kafka/kafka-server.ts';
import { minioServer } from './minio/minio-server.ts';
import { cacheDir, serverStateDir, STATE_DIR } from './paths.ts';
import { isOurProcess, killProcessGroup, readPidFile, removePidFile, spawnDetached, stopProcessGroup, writePidFile } from './processes.ts';
import { requireTools } from './prerequisites.ts';
import { createProgress, type Progress, type ProgressSink } from './progress.ts';
import { registryServer } from './registry/registry-server.ts';
import type { LocalServer, ServerContext } from './server.ts';

export { LOCAL_STACK_ENV, STACK_ENV_NAMES, toExportLines, type StackEnv, type StackEnvName } from './endpoints.ts';

/** In start order. */
export const LOCAL_SERVERS: readonly LocalServer[] = [kafkaServer, registryServer, minioServer];
export const SERVER_NAMES = LOCAL_SERVERS.map((server) => server.name);
/** Started only when named (`up --tracing` names jaeger); stopped by a plain `down` too. */
const OPTIONAL_SERVERS: readonly LocalServer[] = [jaegerServer];
const ALL_SERVERS = [...LOCAL_SERVERS, ...OPTIONAL_SERVERS];

/**
 * running: our process, healthy. starting: our process, not (yet) healthy.
 * stopped: no process of ours. foreign: something we did not start answers on the server's port.
 */
export type ServerState = 'running' | 'starting' | 'stopped' | 'foreign';

export interface ServerStatus {
  name: string;
  title: string;
  state: ServerState;
  pid?: number;
  listens: readonly string[];
  logFile: string;
}

export interface StackOptions {
  /** Where progress lines go; stderr by default. */
  log?: ProgressSink;
  /** Subset of SERVER_NAMES; all by default. */
  only?: readonly string[];
}

export interface UpResult {
  /** Servers this call started, the ones a caller that wants to leave no trace should stop. */
  started: string[];
  alreadyRunning: string[];
  env: StackEnv;
}

const logFile = (server: LocalServer) => join(serverStateDir(server.name), `${server.name}.log`);
const pidFile = (server: LocalServer) => join(serverStateDir(server.name), `${server.name}.pid`);

function contextFor(server: LocalServer, progress: Progress): ServerContext {
  return { cacheDir: cacheDir(), stateDir: serverStateDir(server.name), progress };
}

function selectServers(only: readonly string[] | undefined): LocalServer[] {
  if (!only || only.length === 0) return [...LOCAL_SERVERS];
  const unknown = only.filter((name) => !ALL_SERVERS.some((server) => server.name === name));
  if (unknown.length > 0) {
    throw new Error(`Unknown server ${unknown.join(', ')}; the stack has ${ALL_SERVERS.map((server) => server.name).join(', ')}.`);
  }
  return ALL_SERVERS.filter((server) => only.includes(server.name));
}

/** Our live pid for the server, or undefined (a stale pid file is removed on the way). */
function ourPid(server: LocalServer, ctx: ServerContext): number | undefined {
  const pid = readPidFile(pidFile(server));
  if (pid === undefined) return undefined;
  if (isOurProcess(pid, server.processMarker(ctx))) return pid;
  removePidFile(pidFile(server));
  return undefined;
}

async function statusOf(server: LocalServer, progress: Progress): Promise<ServerStatus> {
  const pid = ourPid(server, contextFor(server, progress));
  const healthy = await server.isHealthy();
  const state: ServerState = pid !== undefined ? (healthy ? 'running' : 'starting') : healthy ? 'foreign' : 'stopped';
  return { name: server.name, title: server.title, state, pid, listens: server.listens, logFile: logFile(server) };
}

export async function localStackStatus(options: StackOptions = {}): Promise<ServerStatus[]> {
  const progress = createProgress(options.log ?? defaultSink);
  return Promise.all(selectServers(options.only).map((server) => statusOf(server, progress)));
}

/**
 * Installs what is missing and starts what is not running, then waits until every server is healthy.
 * Idempotent: servers already running are left alone. If a server fails to start, the ones this call started
 * are stopped again and the error names the log to read.
 */
export async function startLocalStack(options: StackOptions = {}): Promise<UpResult> {
  const progress = createProgress(options.log ?? defaultSink);
  const servers = selectServers(options.only);
  const statuses = await Promise.all(servers.map((server) => statusOf(server, progress)));

  const foreign = statuses.filter((status) => status.state === 'foreign');
  if (foreign.length > 0) {
    throw new Error(
      foreign
        .map((status) => `${status.name}: something not started by this stack already answers on ${status.listens.join(', ')}.`)
        .join('\n') +
        '\nStop it, or use it instead of the local stack by exporting KAFKA_BROKERS, SCHEMA_REGISTRY_URL and S3_ENDPOINT.',
    );
  }

  const toStart = servers.filter((_, index) => statuses[index]?.state === 'stopped');
  const alreadyUp = servers.filter((_, index) => statuses[index]?.state !== 'stopped');
  for (const server of alreadyUp) progress(`${server.name}: already running (pid ${ourPid(server, contextFor(server, progress))})`);

  await requireTools(
    toStart.flatMap((server) => [
      ...server.runTools,
      ...(server.isInstalled(contextFor(server, progress)) ? [] : server.installTools),
    ]),
  );

  const started: string[] = [];
  const launches = new Map<LocalServer, Launch>();
  try {
    // Installs run one at a time (they compete for the same few cores); launched servers start up meanwhile.
    for (const server of toStart) {
      const ctx = contextFor(server, progress);
      if (!server.isInstalled(ctx)) await server.install(ctx);
      const spec = await server.prepare(ctx);
      const logOffset = logSize(logFile(server));
      const pid = spawnDetached(spec, logFile(server));
      writePidFile(pidFile(server), pid);
      launches.set(server, { at: Date.now(), logOffset });
      started.push(server.name);
      progress(`${server.name}: started ${server.title} as pid ${pid}, log ${logFile(server)}`);
    }
    await Promise.all(servers.map((server) => awaitReady(server, progress, launches.get(server))));
  } catch (error) {
    if (started.length > 0) {
      progress(`start failed; stopping what this call started: ${started.join(', ')}`);
      await stopLocalStack({ log: options.log, only: started }).catch(() => undefined);
    }
    throw error;
  }

  for (const server of servers) progress(`${server.name}: ready on ${server.listens.join(', ')}`);
  return { started, alreadyRunning: alreadyUp.map((server) => server.name), env: { ...LOCAL_STACK_ENV } };
}

/** A server this call launched: when, and where its log stood before, so errors quote this run only. */
interface Launch {
  at: number;
  logOffset: number;
}

async function awaitReady(server: LocalServer, progress: Progress, launch: Launch | undefined): Promise<void> {
  const ctx = contextFor(server, progress);
  const logOffset = launch?.logOffset ?? logSize(logFile(server));
  const pid = ourPid(server, ctx);
  if (pid === undefined) {
    throw new Error(`${server.name} exited right after start.\n${describeLog(logFile(server), logOffset)}`);
  }
  await waitUntilHealthy(server.isHealthy, {
    serverName: server.name,
    timeoutMs: server.startupTimeoutMs,
    logFile: logFile(server),
    logOffset,
    pgid: pid,
  });
  if (launch) progress(`${server.name}: healthy ${((Date.now() - launch.at) / 1000).toFixed(1)}s after launch`);
  await server.afterHealthy?.(ctx);
}

export interface DownOptions extends StackOptions {
  /** Also delete data and logs under .state/stack (only when every server is selected). */
  purge?: boolean;
}

/** Stops the selected servers (SIGTERM, then SIGKILL after a grace period, whole process group). */
export async function stopLocalStack(options: DownOptions = {}): Promise<{ stopped: string[] }> {
  const progress = createProgress(options.log ?? defaultSink);
  const servers = options.only && options.only.length > 0 ? selectServers(options.only) : ALL_SERVERS;
  if (options.purge && servers.length !== ALL_SERVERS.length) {
    throw new Error('--purge deletes the whole stack state; use it without naming servers.');
  }
  const stopped: string[] = [];
  // Reverse start order, in parallel: they do not depend on each other at shutdown.
  await Promise.all(
    [...servers].reverse().map(async (server) => {
      const pid = ourPid(server, contextFor(server, progress));
      if (pid === undefined) return;
      progress(`${server.name}: stopping pid ${pid}`);
      const killed = await stopProcessGroup(pid, server.stopGraceMs);
      removePidFile(pidFile(server));
      stopped.push(server.name);
      progress(`${server.name}: stopped${killed ? ` (SIGKILL after ${server.stopGraceMs / 1000}s)` : ''}`);
    }),
  );
  if (options.purge) {
    rmSync(STATE_DIR, { recursive: true, force: true });
    progress(`deleted ${STATE_DIR}`);
  }
  return { stopped };
}

/** Kills a running server with SIGKILL (its whole process group), as a crash would; `startLocalStack` restarts it. */
export async function killLocalServer(name: string, options: StackOptions = {}): Promise<boolean> {
  const progress = createProgress(options.log ?? defaultSink);
  const [server] = selectServers([name]);
  if (!server) return false;
  const pid = ourPid(server, contextFor(server, progress));
  if (pid === undefined) return false;
  await killProcessGroup(pid);
  removePidFile(pidFile(server));
  progress(`${server.name}: killed pid ${pid} with SIGKILL`);
  return true;
}

function defaultSink(line: string): void {
  process.stderr.write(`${line}\n`);
}
