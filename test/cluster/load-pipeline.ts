/**
 * A pipeline under paced load, for the cluster fault suite (test/cluster/) and the scale-out measurement
 * (bench/scale-out.ts; partitionStalls stays with the single-broker fault suite): the router and N inference consumers of v1 on a PipelineHarness, requests published at a
 * fixed rate through broker outages, collectors on the input, routed and prediction topics, and the figures an
 * operator asks of a disruption: lost, duplicated, and how long each partition stood still.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { Producer } from 'kafkajs';
import { HEADER } from '../../platform/headers.ts';
import { createProducer } from '../../platform/kafka.ts';
import { retry } from '../../platform/retry.ts';
import { newImageRequest, type ImageRequest } from '../../producers/image-request.ts';
import { RequestPublisher } from '../../producers/publisher.ts';
import type { RoutedRequest } from '../../router/routed-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { partitionStalls, type RecordTiming, type Stall } from '../faults/partition-stalls.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';

const SAMPLES_ROOT = join(REPO_ROOT, 'data', 'samples');

export interface LoadPipelineOptions {
  consumers: number;
  /** Environment of every service (delivery, session timeout, ...). */
  env: Record<string, string>;
  /** Extra environment of the inference consumers. */
  consumerEnv?: Record<string, string>;
  /** Source field of the requests, to tell runs apart in logs. */
  source: string;
  /** The upstream producer (see openPublisher). */
  publisher: 'idempotent' | 'plain';
}

export class LoadPipeline {
  readonly h = new PipelineHarness();
  readonly consumers: RunningProcess[] = [];
  /** Request id to when it was handed to the publisher (ms). */
  readonly submitted = new Map<string, number>();
  requests!: TopicCollector<ImageRequest>;
  routed!: TopicCollector<RoutedRequest>;
  predictions!: TopicCollector<Prediction>;
  private uris: string[] = [];
  private serial = 0;
  private publisher!: RequestPublisher;
  private producer: Producer | undefined;

  constructor(readonly o: LoadPipelineOptions) {}

  async start(): Promise<this> {
    const { h } = this;
    await h.connect();
    await this.openPublisher();
    const set = await writeSamples(join(SAMPLES_ROOT, 'e2e-lossless'), 'lossless', 300);
    this.uris = set.samples.map((s) => pathToFileURL(join(set.dir, s.file)).href);
    this.requests = await h.collect<ImageRequest>(h.clients.topics.requests);
    this.predictions = await h.collect<Prediction>(h.clients.topics.predictions);
    await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
    await Promise.all([h.start('router', 'router', this.o.env), ...Array.from({ length: this.o.consumers }, () => this.addConsumer())]);
    this.routed = await h.collect<RoutedRequest>(h.clients.topics.requestsFor('v1'));
    return this;
  }

  /** Starts one more v1 consumer and waits until it is ready (joined its group, model loaded). */
  async addConsumer(): Promise<RunningProcess> {
    const p = await this.h.start(`inference-v1-${++this.serial}`, 'inference', {
      ...this.o.env, MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: SAMPLES_ROOT, ...this.o.consumerEnv,
    });
    this.consumers.push(p);
    return p;
  }

  /** SIGTERM of the oldest consumer (a scale-in: it finishes its batch, commits and leaves the group). */
  async removeConsumer(): Promise<RunningProcess> {
    const p = this.consumers.shift();
    if (!p) throw new Error('no consumer left to stop');
    await p.stop();
    return p;
  }

  /**
   * The test's upstream producer, acks=all with one request in flight: `idempotent` as the platform's createProducer
   * (the gateway's), or `plain` (no producer id: a retried send may write a record twice, never drop it silently).
   */
  private async openPublisher(): Promise<void> {
    const producer = createProducer(this.h.clients.kafka, { maxInFlightRequests: 1, idempotent: this.o.publisher === 'idempotent' });
    await producer.connect();
    this.producer = producer;
    this.publisher = new RequestPublisher(producer, this.h.clients.serde, this.h.clients.topics);
  }

  /**
   * Publishes `count` requests at `ratePerSecond` in slices of 20. A send that fails while a broker is down is
   * tried again, as an upstream service would; an error kafkajs calls non-retriable fails the run (unpatched
   * kafkajs 2.2.4 hit OUT_OF_ORDER_SEQUENCE_NUMBER after a leader SIGKILL or pause: patches/kafkajs+2.2.4.patch).
   */
  async publish(count: number, ratePerSecond: number, signal?: AbortSignal): Promise<number> {
    const slice = 20;
    const started = Date.now();
    let sent = 0;
    for (; sent < count && !signal?.aborted; sent += slice) {
      const requests = Array.from({ length: Math.min(slice, count - sent) }, (_, j) => {
        const r = newImageRequest(this.uris[(sent + j) % this.uris.length] as string, { source: this.o.source });
        this.submitted.set(r.request_id, r.submitted_at);
        return r;
      });
      await retry(() => this.publisher.publish(requests), {
        attempts: 60, baseMs: 500, capMs: 5_000,
        isRetryable: (err) => (err as { retriable?: boolean }).retriable !== false || /ECONNREFUSED|Connection error/.test(String(err)),
      });
      const due = started + ((sent + slice) / ratePerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    return Math.min(sent, count);
  }

  /**
   * Waits until every submitted request has a prediction, up to `timeoutMs` (what is missing then counts as lost),
   * then up to `catchUpMs` until the input and routed collectors have read everything: after a broker fault kafkajs
   * restarts their consumers, which read from the start again, and figures taken before they caught up would be
   * wrong. The input topic has no transaction markers, so its high watermarks count its records.
   */
  async drain(timeoutMs: number, catchUpMs = 60_000): Promise<void> {
    const predicted = (): Set<string> => new Set(this.predictions.items.map((p) => p.value.request_id));
    await this.predictions.waitFor(() => {
      const done = predicted();
      return [...this.submitted.keys()].every((id) => done.has(id));
    }, timeoutMs).catch(() => undefined);
    const offsets = await this.h.clients.admin.fetchTopicOffsets(this.h.clients.topics.requests);
    const records = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    await this.requests.waitFor((items) => items.length >= records && this.routed.items.length >= items.length, catchUpMs,
      () => `input ${this.requests.items.length} of ${records}, routed ${this.routed.items.length}`).catch(() => undefined);
  }

  /** Lost and duplicated predictions, and each partition's longest stall (input topic by the router, routed topic by v1). */
  figures(): DeliveryFigures {
    const counts = new Map<string, number>();
    for (const p of this.predictions.items) counts.set(p.value.request_id, (counts.get(p.value.request_id) ?? 0) + 1);
    const stalls = partitionStalls(this.timings());
    const lost = [...this.submitted.keys()].filter((id) => !counts.has(id));
    const copies = new Map<string, number>();
    for (const r of this.requests.items) copies.set(r.value.request_id, (copies.get(r.value.request_id) ?? 0) + 1);
    const inInput = new Set(copies.keys());
    const routed = new Set(this.routed.items.map((r) => r.value.request_id));
    return {
      requests: this.submitted.size,
      predictions: this.predictions.items.length,
      lost: lost.length,
      lost_where: {
        not_in_input_topic: lost.filter((id) => !inInput.has(id)).length,
        not_routed: lost.filter((id) => inInput.has(id) && !routed.has(id)).length,
        routed_not_predicted: lost.filter((id) => routed.has(id)).length,
      },
      lost_ids: lost.slice(0, 10),
      // Exactly-once is per input record: a request written twice upstream rightly gets two predictions.
      duplicates: [...counts].reduce((n, [id, c]) => n + Math.max(0, c - Math.max(1, copies.get(id) ?? 0)), 0),
      input_copies_beyond_one: [...copies.values()].reduce((n, c) => n + c - 1, 0),
      collected: { input: this.requests.items.length, routed: this.routed.items.length, predictions: this.predictions.items.length },
      longest_stall_ms: Math.round(stalls[0]?.ms ?? 0),
      // When it began, to line it up with the services' and the nodes' logs.
      longest_stall_from: stalls[0] ? new Date(stalls[0].from).toISOString() : undefined,
      stalls_over_5s: stalls.filter((s) => s.ms > 5_000).length,
      stall_per_partition: Object.fromEntries(stalls.map((s) => [`${s.topic}/${s.partition}`, Math.round(s.ms)])),
    };
  }

  /**
   * How many of `ids` a fresh reader finds in the input topic, reading every partition from its start to its high
   * watermark: tells records absent from the log from records the collector (and the router) skipped.
   */
  async findInInput(ids: readonly string[], timeoutMs = 60_000): Promise<number> {
    const topic = this.h.clients.topics.requests;
    const ends = new Map((await this.h.clients.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    const reached = new Map<number, bigint>();
    const wanted = new Set(ids);
    const found = new Set<string>();
    const consumer = this.h.clients.kafka.consumer({ groupId: `${this.h.prefix}.rescan-${Date.now()}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = (): boolean => [...ends].every(([partition, high]) => high === 0n || (reached.get(partition) ?? -1n) + 1n >= high);
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const id = message.headers?.[HEADER.requestId]?.toString() ?? '';
        if (wanted.has(id)) found.add(id);
        reached.set(partition, BigInt(message.offset));
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await consumer.disconnect();
    return found.size;
  }

  /** When each record reached its partition and when its output was written: input to routed, routed to predicted. */
  timings(): RecordTiming[] {
    const { topics } = this.h.clients;
    const routedAt = new Map<string, number>();
    for (const r of this.routed.items) routedAt.set(r.value.request_id, Math.min(routedAt.get(r.value.request_id) ?? Infinity, r.timestamp));
    const predictedAt = new Map<string, number>();
    for (const p of this.predictions.items) predictedAt.set(p.value.request_id, Math.min(predictedAt.get(p.value.request_id) ?? Infinity, p.value.predicted_at));
    return [
      ...this.requests.items.map((r) => ({
        topic: topics.requests, partition: r.partition, offset: BigInt(r.offset), arrivedAt: r.timestamp, id: r.value.request_id, doneAt: routedAt.get(r.value.request_id),
      })),
      ...this.routed.items.map((r) => ({
        topic: topics.requestsFor('v1'), partition: r.partition, offset: BigInt(r.offset), arrivedAt: r.timestamp, id: r.value.request_id, doneAt: predictedAt.get(r.value.request_id),
      })),
    ];
  }

  /** The longest stall per partition among records that arrived in [from, to) (ms). */
  stallsBetween(from: number, to: number): Stall[] {
    return partitionStalls(this.timings().filter((t) => t.arrivedAt >= from && t.arrivedAt < to));
  }

  /** Submission-to-prediction latency (ms) of the requests submitted in [from, to), predicted ones only. */
  latenciesBetween(from: number, to: number): number[] {
    const first = new Map<string, number>();
    for (const p of this.predictions.items) first.set(p.value.request_id, Math.min(first.get(p.value.request_id) ?? Infinity, p.value.predicted_at));
    const out: number[] = [];
    for (const [id, at] of this.submitted) {
      const done = first.get(id);
      if (at >= from && at < to && done !== undefined) out.push(done - at);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    await this.h.close();
  }
}

export interface DeliveryFigures {
  requests: number;
  predictions: number;
  lost: number;
  /** Where the lost requests stopped, to tell the publisher, the router and the consumers apart. */
  lost_where: { not_in_input_topic: number; not_routed: number; routed_not_predicted: number };
  lost_ids: string[];
  /** Predictions beyond one per input record. */
  duplicates: number;
  /** Requests the test's publisher wrote more than once (a plain producer's retried send may). */
  input_copies_beyond_one: number;
  collected: { input: number; routed: number; predictions: number };
  longest_stall_ms: number;
  longest_stall_from: string | undefined;
  stalls_over_5s: number;
  stall_per_partition: Record<string, number>;
}
