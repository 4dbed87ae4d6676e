/**
 * Ours against the Python reference on equal terms: one per-version topic pre-filled with RoutedRequests (the
 * router's output, so neither side pays for routing), then each consumer, one process, in its own consumer
 * group, reads all of it from the beginning while nothing else runs. Rates come from the predictions'
 * `predicted_at` stamps, after a warm-up and before the last batches, read only once the run has finished
 * (a collector reading along would take CPU from the consumer it measures).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Prediction } from '../inference-consumers/service/prediction.ts';
import { EnvReader } from '../platform/config.ts';
import { readKafkaSettings } from '../platform/kafka-config.ts';
import { ensureTopics } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { newTraceparent, TRACEPARENT } from '../platform/trace.ts';
import { newImageRequest } from '../producers/image-request.ts';
import type { RoutedRequest } from '../router/routed-request.ts';
import { PipelineHarness, REPO_ROOT } from '../stack/pipeline-harness.ts';
import { CpuSampler, cpuBetween, type CpuSample } from './cpu-sampler.ts';
import { steadyRate } from './steady-rate.ts';

export type Delivery = 'exactly-once' | 'at-least-once';
/** The library the reference consumer resamples with (bench/reference/preprocess.py). */
export type ResizeWith = 'pillow' | 'opencv';

export interface ConsumerRun {
  /** Also the consumer id stamped on its predictions. */
  label: string;
  ips: number;
  /** Images the rate was taken over (between warm-up and tail). */
  measured: number;
  /** CPU of the consumer process per image over the same images (all its threads); undefined off Linux. */
  cpuMsPerImage: number | undefined;
}

const FILE_ROOTS = [join(REPO_ROOT, 'data'), join(REPO_ROOT, 'bench')].join(',');
/** A run slower than 10 images/s after a minute of start-up has gone wrong (the slowest here does about 30). */
const runTimeoutMs = (images: number) => 60_000 + images * 100;

/** A fresh topic prefix with `images.requests.<version>` filled with `count` requests cycling over `uris`. */
export class PrefilledTopic {
  private constructor(readonly h: PipelineHarness, readonly topic: string, readonly count: number, readonly version: string) {}

  static async create(version: string, uris: string[], count: number): Promise<PrefilledTopic> {
    const h = await new PipelineHarness().connect();
    const topic = h.clients.topics.requestsFor(version);
    await ensureTopics(h.clients.admin, [{ topic }], readKafkaSettings(new EnvReader(), 'bench'), createLogger('bench', 'warn', true));
    const now = Date.now();
    for (let from = 0; from < count; from += 500) {
      const messages = await Promise.all(Array.from({ length: Math.min(500, count - from) }, async (_, i) => {
        const request: RoutedRequest = {
          ...newImageRequest(uris[(from + i) % uris.length] as string, { source: 'bench', now }),
          model_version: version, experiment_id: null, rule_id: null, shadow: false, routed_at: now,
        };
        return {
          key: request.request_id,
          value: await h.clients.serde.encode(topic, 'RoutedRequest', request),
          headers: { [TRACEPARENT]: newTraceparent() },
        };
      }));
      await h.clients.producer.send({ topic, acks: -1, messages });
    }
    return new PrefilledTopic(h, topic, count, version);
  }

  /** One of our inference consumer processes over the whole topic, in its own group. */
  async runOurs(label: string, o: { modelDir: string; batch: number; delivery: Delivery; env?: Record<string, string> }): Promise<ConsumerRun> {
    const group = `${this.h.prefix}.${label}`;
    const p = await this.h.start(label, 'inference', {
      MODEL_VERSION: this.version, MODEL_URI: o.modelDir, MAX_BATCH_SIZE: String(o.batch), FETCH_FILE_ROOTS: FILE_ROOTS,
      LOG_LEVEL: 'warn', CONSUMER_GROUP_ID: group, CONSUMER_ID: label, DELIVERY: o.delivery,
      // The topics cycle over a few hundred images: answers from the result cache would not be inference.
      RESULT_CACHE: 'off', ...o.env,
    });
    const cpu = new CpuSampler(p.child.pid as number);
    try {
      await this.waitConsumed(group, () => p.child.exitCode === null && p.child.signalCode === null, p.logFile);
    } finally {
      cpu.stop();
      await p.stop();
    }
    return this.measure(label, o.batch, cpu.samples);
  }

  /** bench/reference/consumer.py over the whole topic, in its own group; it exits once it has read it all. */
  async runReference(label: string, o: { python: string; modelDir: string; batch: number; resizeWith?: ResizeWith }): Promise<ConsumerRun> {
    const logDir = join(REPO_ROOT, '.state', 'test-logs', this.h.prefix);
    mkdirSync(logDir, { recursive: true });
    const logFile = join(logDir, `${label}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(o.python, [
      'bench/reference/consumer.py', '--brokers', process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      '--registry', process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
      '--topic', this.topic, '--predictions', this.h.clients.topics.predictions, '--group', `${this.h.prefix}.${label}`,
      '--model', o.modelDir, '--batch', String(o.batch), '--stop-after', String(this.count), '--consumer-id', label,
      '--resize-with', o.resizeWith ?? 'pillow',
    ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const cpu = new CpuSampler(child.pid as number);
    const timer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs(this.count));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    cpu.stop();
    if (code !== 0) throw new Error(`the Python reference consumer exited with ${code}; see ${logFile}`);
    return this.measure(label, o.batch, cpu.samples);
  }

  /**
   * Until the group's committed offsets reach the end of every partition. The input was written without
   * transactions, so its offsets are contiguous whichever delivery mode the consumer commits with.
   */
  private async waitConsumed(group: string, alive: () => boolean, logFile: string): Promise<void> {
    const admin = this.h.clients.admin;
    const ends = new Map((await admin.fetchTopicOffsets(this.topic)).map((p) => [p.partition, Number(p.high)]));
    const timeoutMs = runTimeoutMs(this.count);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [this.topic] });
      const done = committed?.partitions.every((p) => Number(p.offset) >= (ends.get(p.partition) ?? 0));
      if (done) return;
      if (!alive()) throw new Error(`${group}'s consumer exited before reading ${this.topic}; see ${logFile}`);
      if (Date.now() > deadline) throw new Error(`${group} did not read ${this.topic} within ${timeoutMs} ms; see ${logFile}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async measure(label: string, batch: number, cpu: CpuSample[]): Promise<ConsumerRun> {
    const collector = await this.h.collect<Prediction>(this.h.clients.topics.predictions);
    const mine = () => collector.items.filter((p) => p.value.consumer_id === label);
    try {
      await collector.waitFor(() => mine().length >= this.count, 120_000, () => `${mine().length} of ${this.count} predictions by ${label}`);
    } finally {
      await collector.stop();
    }
    const { ips, measured, from, to } = steadyRate(mine().map((p) => p.value.predicted_at), batch);
    const cpuMs = cpuBetween(cpu, from, to);
    return { label, ips, measured, cpuMsPerImage: cpuMs === undefined ? undefined : cpuMs / measured };
  }

  async close(): Promise<void> {
    await this.h.close();
  }
}
