/**
 * Realistic input for the drift monitor tests: Fashion-MNIST sample images run through the real serving path
 * in-process (file read → sharp preprocessing → one ONNX Runtime call per batch → buildPrediction), so brightness,
 * contrast, confidence and classes are what the inference consumers would publish; then Predictions and Feedback
 * published through the registry like the pipeline does.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import type { DashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import { processBatch } from '../../../inference-consumers/service/process-batch.ts';
import type { Prediction } from '../../../inference-consumers/service/prediction.ts';
import { TensorPool } from '../../../inference-consumers/service/tensor-pool.ts';
import { loadModel, type LoadedModel } from '../../../models/loader/load-model.ts';
import { HEADER } from '../../../platform/headers.ts';
import { newTraceparent, TRACEPARENT } from '../../../platform/trace.ts';
import type { Feedback } from '../../../producers/publisher.ts';
import { newImageRequest } from '../../../producers/image-request.ts';
import type { RoutedRequest } from '../../../router/routed-request.ts';
import { writeSamples, type Sample, type SampleKind, type SampleSet } from '../../../scripts/samples/write-samples.ts';
import type { PipelineHarness } from '../../../stack/pipeline-harness.ts';
import { REPO_ROOT } from '../../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../../stack/pipeline-services.ts';

export const MODEL_NAME = 'fashion-mnist';
const BATCH = 64;

const models = new Map<string, Promise<LoadedModel>>();

/** The committed model of a version, loaded once per test file. */
export function servingModel(version: string): Promise<LoadedModel> {
  let model = models.get(version);
  if (!model) {
    model = loadModel(join(REPO_ROOT, 'models', MODEL_NAME, version), {
      session: { intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] },
      logger: pino({ level: 'silent' }),
    });
    models.set(version, model);
  }
  return model;
}

export async function releaseModels(): Promise<void> {
  for (const model of models.values()) await (await model).session.release();
  models.clear();
}

/** A sample set under data/samples/ (written once, reused by later runs). */
export function samples(kind: SampleKind, count: number, offset = 0): Promise<SampleSet> {
  return writeSamples(join(REPO_ROOT, 'data', 'samples', `drift-${kind}-${offset}-${count}`), kind, count, offset);
}

export interface Labeled {
  requestId: string;
  sample: Sample;
}

/** One request per sample, with fresh ids. */
export function requestsFor(set: SampleSet): Labeled[] {
  return set.samples.map((sample) => ({ requestId: newImageRequest('x').request_id, sample }));
}

export interface Routing {
  version: string;
  experimentId: string | null;
  shadow: boolean;
}

function message(offset: number): KafkaMessage {
  return { key: null, value: null, offset: String(offset), timestamp: String(Date.now()), attributes: 0, headers: {} } as KafkaMessage;
}

/** Predictions of `version` for the requests, exactly as an inference consumer builds them; throws if any image fails. */
export async function predict(set: SampleSet, requests: Labeled[], routing: Routing): Promise<Prediction[]> {
  const model = await servingModel(routing.version);
  const tensors = new TensorPool(BATCH);
  const out: Prediction[] = [];
  for (let i = 0; i < requests.length; i += BATCH) {
    const items = requests.slice(i, i + BATCH).map((r, j) => {
      const request: RoutedRequest = {
        ...newImageRequest(pathToFileURL(join(set.dir, r.sample.file)).href, { requestId: r.requestId, source: 'drift-test' }),
        model_version: routing.version,
        experiment_id: routing.experimentId,
        rule_id: null,
        shadow: routing.shadow,
        routed_at: Date.now(),
      };
      return { message: message(i + j), request };
    });
    const result = await processBatch(items, {
      model,
      fetch: async (uri) => ({ ok: true, bytes: await readFile(new URL(uri)), attempts: 1 }),
      tensors,
      limits: { maxPixels: 1_000_000 },
      fetchConcurrency: 8,
      topK: 3,
      consumerId: 'drift-test',
      signal: new AbortController().signal,
      progress: () => undefined,
    });
    if (result.failed.length > 0) throw new Error(`inference failed for ${result.failed.length} samples: ${result.failed[0]?.error.message}`);
    // processBatch fills slots in completion order; keep the requests' order.
    const byId = new Map(result.predictions.map((p) => [p.prediction.request_id, p.prediction]));
    for (const r of requests.slice(i, i + BATCH)) out.push(byId.get(r.requestId)!);
  }
  return out;
}

/** Publishes Predictions keyed by request id, as the inference consumers do, acknowledged by all replicas. */
export async function publishPredictions(h: PipelineHarness, predictions: Prediction[]): Promise<void> {
  const topic = h.clients.topics.predictions;
  for (let i = 0; i < predictions.length; i += 200) {
    const messages = await Promise.all(predictions.slice(i, i + 200).map(async (p) => ({
      key: p.request_id,
      value: await h.clients.serde.encode(topic, 'Prediction', p),
      headers: { [TRACEPARENT]: newTraceparent(), [HEADER.requestId]: p.request_id, [HEADER.modelVersion]: p.model_version, [HEADER.shadow]: String(p.shadow) },
    })));
    await h.clients.producer.send({ topic, acks: -1, messages });
  }
}

/** Ground truth for every request. */
export async function publishFeedback(h: PipelineHarness, requests: Labeled[]): Promise<void> {
  const feedback: Feedback[] = requests.map((r) => ({
    request_id: r.requestId, true_label: r.sample.label, true_index: r.sample.labelIndex, observed_at: Date.now(), source: 'drift-test',
  }));
  for (let i = 0; i < feedback.length; i += 200) await h.publisher.publishFeedback(feedback.slice(i, i + 200));
}

/** The monitor's GET /api/state. */
export async function monitorState(monitor: RunningProcess): Promise<DashboardState> {
  const res = await fetch(`${monitor.opsUrl}/api/state`);
  if (!res.ok) throw new Error(`GET /api/state answered ${res.status}`);
  return (await res.json()) as DashboardState;
}

/** Polls /api/state until `done` holds; throws with the last state's summary after the timeout. */
export async function waitForState(monitor: RunningProcess, done: (s: DashboardState) => boolean, timeoutMs: number, what: string): Promise<DashboardState> {
  const deadline = Date.now() + timeoutMs;
  let last: DashboardState | undefined;
  for (;;) {
    last = await monitorState(monitor).catch(() => last);
    if (last && done(last)) return last;
    if (Date.now() > deadline) {
      const streams = last?.streams.map((s) => `${s.title}: ${s.windows_closed} closed, ${s.open_count} open`).join('; ');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last state: ${streams ?? 'none'}; join ${JSON.stringify(last?.join)}; see ${monitor.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One metric sample from /metrics, e.g. metricValue(text, 'drift_snapshot_bytes'). */
export function metricValue(metrics: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Correct predictions by direct comparison with the labels. */
export function directCorrect(predictions: Prediction[], requests: Labeled[]): number {
  const truth = new Map(requests.map((r) => [r.requestId, r.sample.labelIndex]));
  return predictions.filter((p) => truth.get(p.request_id) === p.predicted_index).length;
}
