/**
 * A local Kafka cluster of several KRaft nodes on loopback, each broker and controller (the quorum is the nodes),
 * with three replicas and min.insync.replicas 2 for the internal topics: the production shape, for the cluster
 * fault suite and the scale-out measurement. Own ports (19092, 19094, ... and controllers 19093, 19095, ...) and
 * state under .state/cluster/, so it runs beside the single broker of `npm run stack`. Each node is a process
 * group of its own, which the fault tests stop, kill, pause and resume one at a time.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { Kafka, logLevel, type Admin } from 'kafkajs';

import { LOOPBACK } from './endpoints.ts';
import { describeLog, logSize, waitUntilHealthy } from './health.ts';
import { outOfSomeIsr, replicationOf } from './kafka/replication.ts';
import { KAFKA_MULTI_NODE_CLUSTER_ID, renderClusterNodeProperties } from './kafka/kafka-config.ts';
import { kafkaAnswers, kafkaServer, prepareKafkaNode, propertiesFile, warmUpCoordinators } from './kafka/kafka-server.ts';
import { cacheDir, REPO_ROOT } from './paths.ts';
import { requireTools } from './prerequisites.ts';
import { isOurProcess, isSignalStopped, killProcessGroup, readPidFile, removePidFile, spawnDetached, stopProcessGroup, writePidFile } from './processes.ts';
import { createProgress, type Progress, type ProgressSink } from './progress.ts';
import type { ServerContext } from './server.ts';

export const CLUSTER_STATE_DIR = join(REPO_ROOT, '.state', 'cluster');
/** Node n listens on BASE_PORT + 2n (broker) and BASE_PORT + 2n + 1 (controller): 19092/19093, 19094/19095, ... */
const BASE_PORT = 19_090;
/** Node counts `up --brokers` accepts besides 1 (the single broker): an odd quorum that survives one loss. */
export const CLUSTER_SIZES = [3, 5] as const;
const STARTUP_TIMEOUT_MS = 180_000;
/** Controlled shutdown moves leadership away first; on a busy 2-core machine that can take a while. */
const STOP_GRACE_MS = 60_000;

export interface ClusterNode {
  id: number;
  port: number;
  controllerPort: number;
  stateDir: string;
  logFile: string;
  pidFile: string;
}

export function clusterNodes(count: number): ClusterNode[] {
  if (!(CLUSTER_SIZES as readonly number[]).includes(count)) {
    throw new Error(`a local cluster has ${CLUSTER_SIZES.join(' or ')} nodes, not ${count} (1 is the single broker of npm run stack)`);
  }
  return Array.from({ length: count }, (_, i) => {
    const id = i + 1;
    const stateDir = join(CLUSTER_STATE_DIR, `node-${id}`);
    return {
      id, port: BASE_PORT + 2 * id, controllerPort: BASE_PORT + 2 * id + 1, stateDir,
      logFile: join(stateDir, 'kafka.log'), pidFile: join(stateDir, 'kafka.pid'),
    };
  });
}

/** KAFKA_BROKERS for the cluster: every node, so clients find it with any one of them down. */
export function clusterBootstrap(count: number): string {
  return clusterNodes(count).map((n) => `${LOOPBACK}:${n.port}`).join(',');
}

export type NodeState = 'running' | 'paused' | 'starting' | 'stopped';

export interface NodeStatus {
  id: number;
  state: NodeState;
  pid?: number;
  listens: string;
  logFile: string;
}

export class KafkaCluster {
  readonly nodes: readonly ClusterNode[];
  readonly bootstrap: string;
  private readonly progress: Progress;

  constructor(readonly count = 3, log: ProgressSink = (line) => void process.stderr.write(`${line}\n`)) {
    this.nodes = clusterNodes(count);
    this.bootstrap = clusterBootstrap(count);
    this.progress = createProgress(log);
  }

  node(id: number): ClusterNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`the cluster has nodes ${this.nodes.map((n) => n.id).join(', ')}, not ${id}`);
    return node;
  }

  private ctx(node: ClusterNode): ServerContext {
    return { cacheDir: cacheDir(), stateDir: node.stateDir, progress: this.progress };
  }

  /** Our live pid of the node, or undefined (a stale pid file is removed on the way). */
  pidOf(id: number): number | undefined {
    const node = this.node(id);
    const pid = readPidFile(node.pidFile);
    if (pid === undefined) return undefined;
    if (isOurProcess(pid, propertiesFile(this.ctx(node)))) return pid;
    removePidFile(node.pidFile);
    return undefined;
  }

  async status(): Promise<NodeStatus[]> {
    return Promise.all(this.nodes.map(async (node) => {
      const pid = this.pidOf(node.id);
      const listens = `PLAINTEXT ${LOOPBACK}:${node.port}, controller ${LOOPBACK}:${node.controllerPort}`;
      if (pid === undefined) return { id: node.id, state: 'stopped' as const, listens, logFile: node.logFile };
      const state: NodeState = isSignalStopped(pid) ? 'paused' : (await kafkaAnswers(`${LOOPBACK}:${node.port}`)) ? 'running' : 'starting';
      return { id: node.id, state, pid, listens, logFile: node.logFile };
    }));
  }

  /**
   * Installs Kafka if needed (the single broker's jars), starts the nodes not running, and waits until every node
   * is registered and the group and transaction coordinators answer. Idempotent.
   */
  async start(): Promise<void> {
    const first = this.ctx(this.nodes[0] as ClusterNode);
    await requireTools([...kafkaServer.runTools, ...(kafkaServer.isInstalled(first) ? [] : kafkaServer.installTools)]);
    if (!kafkaServer.isInstalled(first)) await kafkaServer.install(first);
    const launched = this.nodes.filter((n) => this.pidOf(n.id) === undefined);
    for (const node of launched) await this.launch(node);
    await Promise.all(this.nodes.map((node) => this.awaitNode(node)));
    await this.awaitRegistered(this.count);
    await warmUpCoordinators(this.bootstrap.split(',')[0] as string, first);
    this.progress(`cluster: ${this.count} nodes ready on ${this.bootstrap}`);
  }

  private async launch(node: ClusterNode): Promise<void> {
    const spec = await prepareKafkaNode(this.ctx(node), renderClusterNodeProperties({
      host: LOOPBACK, port: node.port, controllerPort: node.controllerPort, dataDir: join(node.stateDir, 'data'), nodeId: node.id,
      voters: this.nodes.map((n) => ({ nodeId: n.id, controllerPort: n.controllerPort })),
    }), KAFKA_MULTI_NODE_CLUSTER_ID, '512m');
    const pid = spawnDetached(spec, node.logFile);
    writePidFile(node.pidFile, pid);
    this.progress(`cluster: started node ${node.id} as pid ${pid}, log ${node.logFile}`);
  }

  private async awaitNode(node: ClusterNode, logOffset = 0): Promise<void> {
    const pid = this.pidOf(node.id);
    if (pid === undefined) throw new Error(`cluster node ${node.id} exited right after start.\n${describeLog(node.logFile, logOffset)}`);
    await waitUntilHealthy(() => kafkaAnswers(`${LOOPBACK}:${node.port}`), {
      serverName: `cluster node ${node.id}`, timeoutMs: STARTUP_TIMEOUT_MS, logFile: node.logFile, logOffset, pgid: pid,
    });
  }

  /** Until the cluster's metadata lists `count` brokers (a restarted node answers before it is unfenced). */
  private async awaitRegistered(count: number): Promise<void> {
    await this.withAdmin(async (admin) => {
      const deadline = Date.now() + STARTUP_TIMEOUT_MS;
      for (;;) {
        const { brokers } = await admin.describeCluster().catch(() => ({ brokers: [] }));
        if (brokers.length >= count) return;
        if (Date.now() > deadline) throw new Error(`the cluster lists ${brokers.length} of ${count} brokers after ${STARTUP_TIMEOUT_MS / 1000} s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    });
  }

  /** Starts one stopped node and waits until it answers and is registered again. */
  async startNode(id: number): Promise<void> {
    const node = this.node(id);
    if (this.pidOf(id) !== undefined) return;
    const offset = logSize(node.logFile);
    await this.launch(node);
    await this.awaitNode(node, offset);
    await this.awaitRegistered(this.count);
  }

  /** SIGTERM (a controlled shutdown: leadership moves away first), SIGKILL after the grace period. */
  async stopNode(id: number): Promise<void> {
    const pid = this.pidOf(id);
    if (pid === undefined) return;
    this.resume(id);
    const killed = await stopProcessGroup(pid, STOP_GRACE_MS);
    removePidFile(this.node(id).pidFile);
    this.progress(`cluster: stopped node ${id}${killed ? ` (SIGKILL after ${STOP_GRACE_MS / 1000} s)` : ''}`);
  }

  /** SIGKILL of the node's whole process group: a crash. */
  async killNode(id: number): Promise<void> {
    const pid = this.pidOf(id);
    if (pid === undefined) throw new Error(`cluster node ${id} is not running`);
    await killProcessGroup(pid);
    removePidFile(this.node(id).pidFile);
    this.progress(`cluster: SIGKILLed node ${id} (pid ${pid})`);
  }

  /** SIGSTOP of the node's process group: a node that hangs (a long GC, a frozen VM) without closing its sockets. */
  pause(id: number): void {
    const pid = this.pidOf(id);
    if (pid === undefined) throw new Error(`cluster node ${id} is not running`);
    process.kill(-pid, 'SIGSTOP');
    this.progress(`cluster: SIGSTOPped node ${id}`);
  }

  resume(id: number): void {
    const pid = this.pidOf(id);
    if (pid === undefined || !isSignalStopped(pid)) return;
    process.kill(-pid, 'SIGCONT');
    this.progress(`cluster: SIGCONTed node ${id}`);
  }

  /** Stops every node (a paused one is resumed first, so SIGTERM reaches it); `purge` deletes the cluster's state. */
  async stop(options: { purge?: boolean } = {}): Promise<number[]> {
    const running = this.nodes.filter((n) => this.pidOf(n.id) !== undefined).map((n) => n.id);
    await Promise.all(running.map((id) => this.stopNode(id)));
    if (options.purge) {
      rmSync(CLUSTER_STATE_DIR, { recursive: true, force: true });
      this.progress(`cluster: deleted ${CLUSTER_STATE_DIR}`);
    }
    return running;
  }

  /**
   * Polls until the paused or dead `node` is out of some ISR. A fresh admin per poll, bootstrapped from the nodes that
   * answer: one kept across polls may have its metadata requests routed to the paused node, where they hang.
   */
  async waitUntilOutOfIsr(node: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const partitions = await this.withAdmin((admin) => replicationOf(admin)).catch(() => []);
      if (outOfSomeIsr(partitions, node)) return;
      if (Date.now() > deadline) throw new Error(`node ${node} still in every ISR after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
    // A paused node accepts connections and never answers: bootstrap from the others.
    const answering = this.nodes.filter((n) => {
      const pid = this.pidOf(n.id);
      return pid !== undefined && !isSignalStopped(pid);
    });
    const admin = new Kafka({
      clientId: 'imgpipe-cluster-admin', brokers: (answering.length > 0 ? answering : this.nodes).map((n) => `${LOOPBACK}:${n.port}`), connectionTimeout: 2_000, requestTimeout: 5_000,
      retry: { retries: 3, initialRetryTime: 200 }, logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      return await use(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
