/**
 * One image followed through every hop (issue 19): the gateway, the router, the v1 consumer and the drift monitor
 * export OTLP to the local stack's Jaeger (stack/jaeger, started here if it is not running, built once from the Go
 * module proxy), and the trace of one request is read back from Jaeger's query API and checked span by span: the
 * services, the parent/child chain from the client's traceparent to the drift monitor's count of the prediction,
 * the consumer's chunk span linked to the request, a dead letter's failed spans, and timings inside the latency the
 * client measured.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSamples, type Sample } from '../../scripts/samples/write-samples.ts';
import { JAEGER_ENV } from '../../stack/jaeger/jaeger-server.ts';
import { parentOf, traceTree, type JaegerSpan, type JaegerTrace } from '../../stack/jaeger/trace-tree.ts';
import { startLocalStack, stopLocalStack } from '../../stack/local-stack.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { freePort, type RunningProcess } from '../../stack/pipeline-services.ts';

const TOKEN = 'e2e-tracing-token-0123456789';
const h = new PipelineHarness();
let gateway: RunningProcess;
let base: string;
let samples: Sample[];
let sampleDir: string;
let startedJaeger: string[] = [];
/** Service names as Jaeger shows them: unique per run, since the backend keeps other runs' traces. */
const service = (name: string) => `${name}-${h.prefix}`;

async function fetchTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${JAEGER_ENV.JAEGER_QUERY_URL}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: JaegerTrace[] }).data[0];
}

/** Polls the query API until the trace holds `count` spans (exports are batched), for at most 30 s. */
async function traceWith(traceId: string, done: (t: JaegerTrace) => boolean): Promise<JaegerTrace> {
  let last: JaegerTrace | undefined;
  for (let i = 0; i < 60; i += 1) {
    last = await fetchTrace(traceId);
    if (last && done(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`trace ${traceId} incomplete after 30 s: ${JSON.stringify(last?.spans.map((s) => s.operationName))}`);
}

const tag = (span: JaegerSpan, key: string): unknown => span.tags.find((t) => t.key === key)?.value;
const serviceOf = (t: JaegerTrace, span: JaegerSpan) => t.processes[span.processID]?.serviceName;
const end = (span: JaegerSpan) => span.startTime + span.duration;

function only(t: JaegerTrace, predicate: (s: JaegerSpan) => boolean, what: string): JaegerSpan {
  const found = t.spans.filter(predicate);
  if (found.length !== 1) throw new Error(`expected one ${what} span, found ${found.length}: ${t.spans.map((s) => `${serviceOf(t, s)}:${s.operationName}`).join(', ')}`);
  return found[0] as JaegerSpan;
}

/** Sends one image with a traceparent of the client's; answers the trace id, the answer and the latency seen. */
async function infer(image: Buffer): Promise<{ traceId: string; clientSpanId: string; status: number; body: Record<string, unknown>; micros: number; traceresponse: string | null }> {
  const traceId = randomBytes(16).toString('hex');
  const clientSpanId = randomBytes(8).toString('hex');
  const started = Date.now() * 1000;
  const res = await fetch(`${base}/v2/models/fashion-mnist/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpanId}-01` },
    body: JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [image.toString('base64')] }] }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { traceId, clientSpanId, status: res.status, body, micros: Date.now() * 1000 - started, traceresponse: res.headers.get('traceresponse') };
}

const traced = (name: string) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: JAEGER_ENV.OTEL_EXPORTER_OTLP_ENDPOINT,
  OTEL_SERVICE_NAME: service(name),
  OTEL_TRACES_SAMPLER: 'parentbased_always_on',
  // Exported every 200 ms instead of 5 s, so the test reads complete traces sooner.
  OTEL_BSP_SCHEDULE_DELAY: '200',
});

beforeAll(async () => {
  // A cold machine builds Jaeger first (about 13 minutes on 2 cores).
  ({ started: startedJaeger } = await startLocalStack({ only: ['jaeger'], log: (line) => process.stderr.write(`${line}\n`) }));
  await h.connect();
  sampleDir = join(REPO_ROOT, 'data', 'samples', 'e2e-tracing');
  samples = (await writeSamples(sampleDir, 'lossless', 6)).samples;
  await writeFile(join(sampleDir, 'corrupt.png'), Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(300, 7)]));
  await h.setExperiment({ id: 'tracing-v1', versions: ['v1'], default_version: 'v1', rules: [], updated_by: 'e2e' });
  await h.start('router', 'router', traced('router'));
  // A wait before each poll returns, so concurrent requests share a chunk and its span links to several traces.
  await h.start('inference-v1', 'inference', { MODEL_VERSION: 'v1', MAX_WAIT_MS: '200', ...traced('inference') });
  await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: '10', ...traced('drift-monitor') });
  const port = await freePort();
  gateway = await h.start('gateway', 'gateway', {
    GATEWAY_PORT: String(port), GATEWAY_TOKENS: `e2e:${TOKEN}`, GATEWAY_MAX_IN_FLIGHT_PER_CLIENT: '16', GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/`, LOG_LEVEL: 'debug', ...traced('gateway'),
  });
  base = `http://127.0.0.1:${port}`;
}, 1_800_000);

afterAll(async () => {
  await h?.close();
  if (startedJaeger.length > 0) await stopLocalStack({ only: startedJaeger });
});

describe('one request\'s trace in Jaeger', () => {
  let sent: Awaited<ReturnType<typeof infer>>[];
  let trace: JaegerTrace;
  const requestsTopic = () => h.clients.topics.requests;
  const v1Topic = () => h.clients.topics.requestsFor('v1');

  beforeAll(async () => {
    const images = await Promise.all(samples.map((s) => readFile(join(sampleDir, s.file))));
    sent = await Promise.all(images.map((image) => infer(image)));
    expect(sent.map((s) => s.status)).toEqual(samples.map(() => 200));
    // The whole path is in the trace once it holds the drift monitor's count of the prediction.
    trace = await traceWith(sent[0]!.traceId, (t) => t.spans.some((s) => s.operationName === `process ${h.clients.topics.predictions}`));
    process.stdout.write(`${traceTree(trace).join('\n')}\n`);
    // For the README's picture (scripts/trace-screenshot.sh), with the service and topic names a deployment has
    // (this run's are unique: the default TOPIC_PREFIX, images, instead of its prefix).
    await mkdir(join(REPO_ROOT, 'test', 'artifacts'), { recursive: true });
    await writeFile(join(REPO_ROOT, 'test', 'artifacts', 'trace.json'), JSON.stringify(trace, null, 1).replaceAll(`-${h.prefix}`, '').replaceAll(h.prefix, 'images'));
  }, 120_000);

  it('answers with the trace it was recorded in, continuing the client\'s', () => {
    for (const s of sent) expect(s.traceresponse).toMatch(new RegExp(`^00-${s.traceId}-[0-9a-f]{16}-01$`));
  });

  it('holds every hop, each the child of the one before, in the services that did it', () => {
    const t = trace;
    const http = only(t, (s) => s.operationName === 'POST /v2/models/{name}[/versions/{version}]/infer', 'gateway HTTP');
    expect(serviceOf(t, http)).toBe(service('gateway'));
    expect(parentOf(http)).toBe(sent[0]!.clientSpanId);
    expect(tag(http, 'http.response.status_code')).toBe(200);
    expect(tag(http, 'span.kind')).toBe('server');

    const publish = only(t, (s) => s.operationName === `send ${requestsTopic()}`, 'gateway publish');
    expect(serviceOf(t, publish)).toBe(service('gateway'));
    expect(parentOf(publish)).toBe(http.spanID);
    expect(tag(publish, 'messaging.system')).toBe('kafka');
    expect(tag(publish, 'span.kind')).toBe('producer');

    const route = only(t, (s) => s.operationName === `process ${requestsTopic()}`, 'router process');
    expect(serviceOf(t, route)).toBe(service('router'));
    expect(parentOf(route)).toBe(publish.spanID);
    expect(tag(route, 'messaging.operation.type')).toBe('process');
    expect(tag(route, 'messaging.kafka.message.key')).toBe(sent[0]!.body.id ?? tag(publish, 'messaging.kafka.message.key'));
    expect(tag(route, 'span.kind')).toBe('consumer');

    const routed = only(t, (s) => s.operationName === `send ${v1Topic()}`, 'router send');
    expect(serviceOf(t, routed)).toBe(service('router'));
    expect(parentOf(routed)).toBe(route.spanID);

    const consume = only(t, (s) => s.operationName === `process ${v1Topic()}`, 'consumer process');
    expect(serviceOf(t, consume)).toBe(service('inference'));
    expect(parentOf(consume)).toBe(routed.spanID);
    for (const stage of ['fetch', 'preprocess', 'inference fashion-mnist', `send ${h.clients.topics.predictions}`]) {
      const child = only(t, (s) => s.operationName === stage, stage);
      expect(serviceOf(t, child)).toBe(service('inference'));
      expect(parentOf(child)).toBe(consume.spanID);
    }
    const predicted = only(t, (s) => s.operationName === `send ${h.clients.topics.predictions}`, 'prediction send');
    const counted = only(t, (s) => s.operationName === `process ${h.clients.topics.predictions}`, 'drift monitor process');
    expect(serviceOf(t, counted)).toBe(service('drift-monitor'));
    expect(parentOf(counted)).toBe(predicted.spanID);
  });

  it('links the request to the consumer\'s chunk span, which links back to every request in the chunk', async () => {
    const consume = only(trace, (s) => s.operationName === `process ${v1Topic()}`, 'consumer process');
    const chunkRef = consume.references.find((r) => r.refType === 'FOLLOWS_FROM');
    expect(chunkRef).toBeDefined();
    const chunkTrace = await traceWith(chunkRef!.traceID, (t) => t.spans.some((s) => s.spanID === chunkRef!.spanID));
    const chunk = only(chunkTrace, (s) => s.spanID === chunkRef!.spanID, 'chunk');
    expect(chunk.operationName).toBe(`process ${v1Topic()}`);
    expect(serviceOf(chunkTrace, chunk)).toBe(service('inference'));
    const routed = only(trace, (s) => s.operationName === `send ${v1Topic()}`, 'router send');
    const links = chunk.references.filter((r) => r.refType === 'FOLLOWS_FROM');
    expect(links).toContainEqual(expect.objectContaining({ traceID: trace.traceID, spanID: routed.spanID }));
    expect(tag(chunk, 'messaging.batch.message_count')).toBe(links.length);
    // Every linked request is one this test sent, each in its own trace.
    expect(links.every((l) => sent.some((s) => s.traceId === l.traceID))).toBe(true);
    const model = only(chunkTrace, (s) => s.operationName === 'inference fashion-mnist' && parentOf(s) === chunk.spanID, 'chunk model call');
    expect(tag(model, 'imgpipe.batch_size')).toBeGreaterThanOrEqual(1);
  });

  it('has timings that add up within the latency the client measured', () => {
    const t = trace;
    // A span's start is read from the wall clock in whole milliseconds (its end adds a monotonic duration), and
    // each process reads its own: orderings are checked to within this.
    const slack = 1_000;
    const http = only(t, (s) => s.operationName.startsWith('POST '), 'gateway HTTP');
    expect(http.duration).toBeLessThanOrEqual(sent[0]!.micros);
    const route = only(t, (s) => s.operationName === `process ${requestsTopic()}`, 'router process');
    const consume = only(t, (s) => s.operationName === `process ${v1Topic()}`, 'consumer process');
    // The hops happen in order, inside the HTTP request.
    for (const s of [route, consume]) {
      expect(s.startTime + slack).toBeGreaterThanOrEqual(http.startTime);
      expect(end(s)).toBeLessThanOrEqual(end(http) + slack);
    }
    expect(consume.startTime + slack).toBeGreaterThanOrEqual(end(route) - route.duration);
    expect(route.duration + consume.duration).toBeLessThanOrEqual(http.duration);
    const stages = ['fetch', 'preprocess'].map((name) => only(t, (s) => s.operationName === name, name));
    for (const s of stages) {
      expect(s.startTime + slack).toBeGreaterThanOrEqual(consume.startTime);
      expect(end(s)).toBeLessThanOrEqual(end(consume) + slack);
    }
    expect(stages[1]!.startTime + slack).toBeGreaterThanOrEqual(end(stages[0]!));
    expect(stages[0]!.duration + stages[1]!.duration).toBeLessThanOrEqual(consume.duration);
  });

  it('writes the trace id on the gateway\'s log line for the request', async () => {
    const log = await readFile(gateway.logFile, 'utf8');
    const line = log.split('\n').find((l) => l.includes(`"trace_id":"${sent[0]!.traceId}"`));
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ msg: 'request answered', status: 200 });
  });
});

describe('a dead-lettered request\'s trace', () => {
  it('shows where it failed: a failed consumer span and the dead letter\'s send', async () => {
    const sent = await infer(await readFile(join(sampleDir, 'corrupt.png')));
    expect(sent.status).toBe(422);
    const t = await traceWith(sent.traceId, (x) => x.spans.some((s) => s.operationName === `send ${h.clients.topics.dlq}`));
    const consume = only(t, (s) => s.operationName === `process ${h.clients.topics.requestsFor('v1')}`, 'consumer process');
    expect(tag(consume, 'otel.status_code')).toBe('ERROR');
    expect(tag(consume, 'error.type')).toBe('NotAnImage');
    const dead = only(t, (s) => s.operationName === `send ${h.clients.topics.dlq}`, 'dead letter');
    expect(serviceOf(t, dead)).toBe(service('inference'));
    expect(tag(dead, 'imgpipe.dlq.stage')).toBe('preprocess');
    const routed = only(t, (s) => s.operationName === `send ${h.clients.topics.requestsFor('v1')}`, 'router send');
    expect(parentOf(dead)).toBe(routed.spanID);
  });
});
