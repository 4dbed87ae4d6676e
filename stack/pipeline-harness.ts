import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { connectClients, type Clients } from '../platform/clients.ts';
import { EnvReader } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { createS3Client, readS3Settings, type S3Settings } from '../platform/s3.ts';
import { readCommonSettings } from '../platform/service-config.ts';
import type { ImageRequest } from '../producers/image-request.ts';
import { RequestPublisher } from '../producers/publisher.ts';
import { checkExperiment, publishExperiment, tableFor } from '../router/experiment-publisher.ts';
import { startProcess, type RunningProcess, type ServiceKind } from './pipeline-services.ts';
import { TopicCollector } from './topic-collector.ts';

export const REPO_ROOT = join(import.meta.dirname, '..');

/**
 * One isolated pipeline per test file: its own topic prefix on the shared broker, its own consumer groups,
 * real service processes, and collectors on the output topics.
 */
export class PipelineHarness {
  readonly prefix = `t${randomUUID().slice(0, 8)}`;
  readonly processes: RunningProcess[] = [];
  clients!: Clients;
  publisher!: RequestPublisher;
  s3Settings!: S3Settings;
  defaultModel!: string;
  private readonly collectors: TopicCollector<unknown>[] = [];

  get env(): Record<string, string> {
    return { TOPIC_PREFIX: this.prefix, TOPIC_PARTITIONS: '4' };
  }

  async connect(): Promise<this> {
    Object.assign(process.env, this.env);
    const env = new EnvReader();
    const common = readCommonSettings(env, 'e2e-test', 0);
    this.s3Settings = readS3Settings(env);
    this.defaultModel = common.defaultModel;
    env.done();
    this.clients = await connectClients(common, createLogger('pipeline-harness', 'warn', true));
    this.publisher = new RequestPublisher(this.clients.producer, this.clients.serde, this.clients.topics);
    return this;
  }

  s3() {
    return createS3Client(this.s3Settings);
  }

  async start(name: string, kind: ServiceKind, env: Record<string, string> = {}): Promise<RunningProcess> {
    const p = await this.spawn(name, kind, env);
    await p.ready();
    return p;
  }

  /** Starts a service without waiting for it to be ready (for one that is expected to fail). */
  async spawn(name: string, kind: ServiceKind, env: Record<string, string> = {}): Promise<RunningProcess> {
    const p = await startProcess({ name, kind, env: { ...this.env, ...env }, logDir: join(REPO_ROOT, '.state', 'test-logs', this.prefix) });
    this.processes.push(p);
    return p;
  }

  async collect<T>(topic: string): Promise<TopicCollector<T>> {
    const c = await new TopicCollector<T>(this.clients.kafka, this.clients.serde, topic).start();
    this.collectors.push(c as TopicCollector<unknown>);
    return c;
  }

  /** Publishes the default model's experiment, or with `model` that model's (keyed by its name). */
  async setExperiment(config: unknown, model?: string): Promise<void> {
    const table = tableFor(model, 'default', this.defaultModel);
    const full = table.model === null ? config : { ...(config as object), model: table.model };
    await publishExperiment(this.clients.producer, this.clients.serde, this.clients.topics.experiments, table.key, checkExperiment(full, 'e2e'));
  }

  async publish(requests: ImageRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 200) await this.publisher.publish(requests.slice(i, i + 200));
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await Promise.all(this.collectors.map((c) => c.stop()));
    if (this.clients) {
      await this.removeTopicsAndGroups().catch(() => undefined);
      await this.clients.close();
    }
  }

  /**
   * Deletes this pipeline's topics and consumer groups: a broker holding thousands of partitions from earlier
   * tests is slow to list and, after a crash, slow to recover.
   */
  private async removeTopicsAndGroups(): Promise<void> {
    const { admin } = this.clients;
    const mine = (name: string): boolean => name.startsWith(`${this.prefix}.`);
    const topics = (await admin.listTopics()).filter(mine);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(mine);
    if (groups.length > 0) await admin.deleteGroups(groups);
  }
}
