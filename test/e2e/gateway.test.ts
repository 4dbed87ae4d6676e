/**
 * The HTTP gateway on the real pipeline (router, v1 and v2 consumers, Kafka, registry, MinIO), driven by clients
 * this project did not write: NVIDIA's tritonclient (binary tensor data, JSON) and curl running the README's
 * examples as written. v1 serves and v2 gets a shadow copy of every request, so an answer taken from the shadow
 * would show up as v2; pins are allowed, so /versions/v2 is served by v2.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { uploadSamples } from '../../scripts/samples/upload-samples.ts';
import { writeSamples, type Sample } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { freePort, type RunningProcess } from '../../stack/pipeline-services.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';

const TOKEN = 'e2e-client-token-0123456789';
const FLOOD_TOKEN = 'e2e-flood-token-0123456789';
const MAX_BODY = 256 * 1024;
const VENV = join(homedir(), '.cache', 'imgpipe', 'tritonclient-venv');
const PYTHON = join(VENV, 'bin', 'python');
const CLIENT = join(REPO_ROOT, 'gateway', 'examples', 'triton_client.py');

const h = new PipelineHarness();
let gateway: RunningProcess;
let base: string;
let predictions: TopicCollector<Prediction>;
let samples: Sample[];
let sampleDir: string;
let uriOf: Map<string, string>;
const auth = { authorization: `Bearer ${TOKEN}` };

/** tritonclient in a venv of its own under ~/.cache/imgpipe, installed once from the pinned requirements. */
function ensureTritonClient(): void {
  if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import tritonclient.http, numpy'], { stdio: 'ignore' }).status === 0) return;
  process.stderr.write(`installing tritonclient into ${VENV} (once)\n`);
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(PYTHON, ['-m', 'pip', 'install', '-q', '-r', join(REPO_ROOT, 'gateway/examples/requirements.txt')], { stdio: 'inherit' });
}

type ClientLine = Record<string, unknown> & { file?: string; status?: number; check?: string; value?: unknown };

function tritonClient(args: string[]): ClientLine[] {
  const out = execFileSync(PYTHON, [CLIENT, '--url', base.replace('http://', ''), '--token', TOKEN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return out.trim().split('\n').map((l) => JSON.parse(l) as ClientLine);
}

const labelOf = (file: string): string => samples.find((s) => file.endsWith(s.file))?.label ?? '?';

beforeAll(async () => {
  ensureTritonClient();
  await h.connect();
  sampleDir = join(REPO_ROOT, 'data', 'samples', 'e2e-gateway');
  const set = await writeSamples(sampleDir, 'lossless', 30);
  samples = set.samples;
  uriOf = await uploadSamples(h.s3(), h.s3Settings.bucket, `${h.prefix}/samples`, set);
  // Starts like a PNG, corrupt after: passes the gateway's sniffing, fails the consumer's decoding.
  await writeFile(join(sampleDir, 'corrupt.png'), Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(300, 7)]));

  predictions = await h.collect<Prediction>(h.clients.topics.predictions);
  await h.setExperiment(JSON.parse(await readFile(join(REPO_ROOT, 'router/experiments/v1-served-v2-shadow.json'), 'utf8')));
  await h.start('router', 'router');
  await h.start('inference-v1', 'inference', { MODEL_VERSION: 'v1' });
  await h.start('inference-v2', 'inference', { MODEL_VERSION: 'v2' });
  const port = await freePort();
  gateway = await h.start('gateway', 'gateway', {
    GATEWAY_PORT: String(port),
    GATEWAY_TOKENS: `e2e:${TOKEN},flood:${FLOOD_TOKEN}`,
    GATEWAY_MAX_BODY_BYTES: String(MAX_BODY),
    GATEWAY_RATE_LIMIT: '5',
    GATEWAY_RATE_BURST: '100',
    GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/`,
  });
  base = `http://127.0.0.1:${port}`;
}, 600_000);

afterAll(async () => {
  await h.close();
});

describe('gateway with tritonclient', () => {
  it('answers health and metadata calls', () => {
    const lines = tritonClient(['--check']);
    const checks = Object.fromEntries(lines.map((l) => [l.check, l.value]));
    expect(checks.server_live).toBe(true);
    expect(checks.server_ready).toBe(true);
    expect(checks.model_ready).toBe(true);
    expect(checks.server_metadata).toMatchObject({ extensions: ['binary_tensor_data'] });
    expect(checks.model_metadata).toMatchObject({ name: 'fashion-mnist', versions: expect.arrayContaining(['v1', 'v2']), platform: 'onnxruntime_onnx' });
  });

  it('classifies Fashion-MNIST PNGs sent as binary tensor data with the served version\'s prediction, never the shadow\'s', async () => {
    const files = samples.slice(0, 20).map((s) => join(sampleDir, s.file));
    const results = tritonClient(files);
    expect(results.map((r) => r.status)).toEqual(files.map(() => 200));
    expect(new Set(results.map((r) => r.model_version))).toEqual(new Set(['v1']));
    const correct = results.filter((r) => r.label === labelOf(String(r.file))).length;
    expect(correct).toBeGreaterThanOrEqual(16); // v1 is 90% accurate on the test set
    for (const r of results) {
      expect(r.top_labels).toHaveLength(5);
      expect((r.top_scores as number[])[0]).toBeGreaterThanOrEqual((r.top_scores as number[])[1] ?? 0);
    }
    // Each answer is the served prediction on images.predictions for that request id; its v2 shadow is there too.
    await predictions.waitFor((items) => results.every((r) => items.filter((p) => p.value.request_id === r.id).length === 2), 30_000);
    for (const r of results) {
      const mine = predictions.items.filter((p) => p.value.request_id === r.id).map((p) => p.value);
      const served = mine.find((p) => !p.shadow);
      expect(mine.find((p) => p.shadow)?.model_version).toBe('v2');
      expect([served?.model_version, served?.predicted_label, served?.top_k.map((t) => t.index)]).toEqual(['v1', r.label, r.top_classes]);
    }
    const ms = results.map((r) => Number(r.ms)).sort((a, b) => a - b);
    process.stdout.write(`${JSON.stringify({ test: 'gateway-tritonclient-latency', requests: ms.length, p50_ms: ms[Math.floor(ms.length / 2)], max_ms: ms.at(-1) })}\n`);
  });

  it('sends base64 in JSON, takes JSON outputs, and a pinned version is served by that version', () => {
    const files = samples.slice(20, 25).map((s) => join(sampleDir, s.file));
    const results = tritonClient(['--json', '--json-outputs', '--version', 'v2', ...files]);
    expect(results.map((r) => [r.status, r.model_version])).toEqual(files.map(() => [200, 'v2']));
    expect(results.filter((r) => r.label === labelOf(String(r.file))).length).toBeGreaterThanOrEqual(4);
  });

  it('gets 422 for a file that is not an image, at the door or from the dead-letter topic with its stage', () => {
    const [text, corrupt] = tritonClient([join(REPO_ROOT, 'README.md'), join(sampleDir, 'corrupt.png')]);
    expect(text).toMatchObject({ status: 422, error: expect.stringMatching(/not an image/) });
    expect(corrupt).toMatchObject({ status: 422, error: expect.stringMatching(/dead-lettered at stage preprocess \(NotAnImage\)/) });
  });
});

describe('gateway with curl: the README examples as written', () => {
  it('runs them and gets the answers they describe', async () => {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## HTTP'), readme.indexOf('\n## ', readme.indexOf('## HTTP') + 1));
    const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => b.includes('curl'));
    expect(block).toBeDefined();
    const script = block!.split('\n').filter((l) => !l.startsWith('export ')).join('\n');
    const [image, uriSample] = [samples[0]!, samples[1]!];
    const out = execFileSync('bash', ['-eo', 'pipefail', '-c', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, GATEWAY: base, TOKEN, IMAGE: join(sampleDir, image.file), IMAGE_URI: uriOf.get(uriSample.file) as string },
    });
    const [ready, metadata, inferred, pinned, byUri, asyncResult, noToken, ...rest] = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(rest).toEqual([]);
    expect(ready).toEqual({ ready: true });
    expect(metadata).toMatchObject({ name: 'fashion-mnist', inputs: [{ name: 'image', datatype: 'BYTES' }] });
    expect(inferred).toMatchObject({ model_name: 'fashion-mnist', model_version: 'v1' });
    expect(inferred.outputs.map((o: { name: string }) => o.name)).toEqual(['label', 'top_labels', 'top_scores', 'top_classes']);
    expect(pinned).toMatchObject({ model_version: 'v2', outputs: [{ name: 'label', datatype: 'BYTES', shape: [1] }] });
    expect([inferred.outputs[0].data[0], pinned.outputs[0].data[0]]).toEqual([image.label, image.label]);
    expect([byUri.model_version, byUri.outputs[0]]).toEqual(['v1', { name: 'label', datatype: 'BYTES', shape: [1], data: [uriSample.label] }]);
    // One second is the README's promise, not a guarantee on a loaded machine: pending is a valid answer too.
    if (asyncResult.status !== 'pending') expect([asyncResult.model_version, asyncResult.outputs[0].data]).toEqual(['v1', [uriSample.label]]);
    expect(noToken.error).toMatch(/no bearer token/);
  });
});

describe('gateway answers', () => {
  const infer = (body: string, headers: Record<string, string> = {}, path = '/v2/models/fashion-mnist/infer') =>
    fetch(`${base}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', ...headers }, body });
  const imageBody = (image: Buffer, extra: object = {}) => JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [image.toString('base64')] }], ...extra });
  let png: Buffer;

  beforeAll(async () => {
    png = await readFile(join(sampleDir, samples[2]!.file));
  });

  it('bad requests with the right status and the protocol\'s error format', async () => {
    const cases: [string, Promise<Response>, number, RegExp][] = [
      ['wrong content type', infer('hello', { 'content-type': 'text/plain' }), 415, /content type "text\/plain"/],
      ['oversized body', infer(' '.repeat(MAX_BODY + 1)), 413, /GATEWAY_MAX_BODY_BYTES/],
      ['not an image', infer(imageBody(Buffer.from('GIF? no, plain text'))), 422, /not an image/],
      ['unknown model', infer(imageBody(png), {}, '/v2/models/mnist/infer'), 404, /unknown model "mnist"/],
      ['unknown version', infer(imageBody(png), {}, '/v2/models/fashion-mnist/versions/v9/infer'), 404, /no version "v9"/],
      ['no token', fetch(`${base}/v2/models/fashion-mnist/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: imageBody(png) }), 401, /no bearer token/],
      ['wrong token', infer(imageBody(png), { authorization: 'Bearer not-the-token-0123456789' }), 401, /not valid/],
      ['malformed JSON', infer('{"inputs": ['), 400, /not valid JSON/],
      ['a missing object', infer(JSON.stringify({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: [`s3://${h.s3Settings.bucket}/${h.prefix}/missing.png`] }] })), 422, /dead-lettered at stage fetch \(NotFound\): the image could not be fetched \(fetch\/NotFound\)/],
      ['an id over the limit', infer(imageBody(png, { id: 'x'.repeat(200_000) })), 400, /^id is 200000 bytes, over the limit of 256 \(GATEWAY_MAX_STRING_BYTES\)$/],
      ['a bucket outside the allow-list', infer(JSON.stringify({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: [`s3://${h.s3Settings.bucket}-private/a.png`] }] })), 403, /GATEWAY_URI_ALLOW/],
    ];
    for (const [what, response, status, pattern] of cases) {
      const res = await response;
      const body = await res.json();
      expect([what, res.status]).toEqual([what, status]);
      expect(body.error).toMatch(pattern);
    }
  });

  it('tells the client the stage and class of a dead letter, and keeps the dead letter\'s own message for its log', async () => {
    const key = `${h.prefix}/absent-${Date.now()}.png`;
    const res = await infer(JSON.stringify({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: [`s3://${h.s3Settings.bucket}/${key}`] }] }));
    const body = await res.json();
    expect([res.status, body.stage, body.error_class]).toEqual([422, 'fetch', 'NotFound']);
    expect(JSON.stringify(body)).not.toContain(key);
    // The gateway's log is written asynchronously: the line may land a moment after the answer.
    const loggedLines = async () => (await readFile(gateway.logFile, 'utf8')).split('\n').filter((l) => l.includes('"request dead-lettered"') && l.includes(body.request_id));
    let logged = await loggedLines();
    for (let i = 0; i < 50 && logged.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      logged = await loggedLines();
    }
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ client: 'e2e', stage: 'fetch', errorClass: 'NotFound', reason: expect.stringContaining(key) });
  });

  it('504 with the request id when the answer is later than the timeout; the request, past its deadline then, is skipped and /v2/results says so', async () => {
    const res = await infer(imageBody(png, { parameters: { timeout: 1_000 } })); // 1 ms: no pipeline answers that fast
    expect(res.status).toBe(504);
    const body = await res.json();
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    // The gateway set the request's deadline to its timeout: no one waits after that, so the pipeline skips it.
    const answer = await pollUntil(res.headers.get('location') as string, (status) => status !== 202);
    expect(answer.status).toBe(504);
    expect(answer.body).toMatchObject({ request_id: body.request_id, error_class: 'Expired' });
  });

  it('202 with the request id in asynchronous mode, and the answer from /v2/results', async () => {
    const res = await infer(imageBody(png, { id: 'mine-1', parameters: { async: true } }));
    expect(res.status).toBe(202);
    const accepted = await res.json();
    expect(accepted).toMatchObject({ id: 'mine-1', status: 'pending' });
    expect(await poll(accepted.result)).toMatchObject({ id: 'mine-1', model_version: 'v1', parameters: { request_id: accepted.request_id } });
  });

  it('429 with Retry-After once a client is over its rate; other clients go on', async () => {
    const flood = { authorization: `Bearer ${FLOOD_TOKEN}` };
    const responses = await Promise.all(Array.from({ length: 200 }, async () => {
      const r = await fetch(`${base}/v2/models/fashion-mnist`, { headers: flood });
      return { status: r.status, retryAfter: Number(r.headers.get('retry-after')), body: await r.json() };
    }));
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(20);
    expect(limited[0]?.retryAfter).toBeGreaterThanOrEqual(1);
    expect(limited[0]?.body.error).toMatch(/rate limit reached for flood/);
    expect((await fetch(`${base}/v2/models/fashion-mnist`, { headers: auth })).status).toBe(200);
  });

  it('counts what it answered in its metrics', async () => {
    const metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
    for (const code of ['200', '202', '400', '401', '403', '404', '413', '415', '422', '429', '504']) {
      expect(metrics, code).toMatch(new RegExp(`gateway_requests_total\\{route="[^"]+",code="${code}",service="gateway"\\} [1-9]`));
    }
    expect(metrics).toMatch(/gateway_dead_letters_total\{stage="preprocess",error_class="NotAnImage",service="gateway"\} [1-9]/);
    expect(metrics).toMatch(/gateway_stage_duration_seconds_count\{service="gateway",stage="upload"\} [1-9]/);
  });
});

async function pollUntil(location: string, done: (status: number) => boolean): Promise<{ status: number; body: Record<string, unknown> }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${base}${location}`, { headers: auth });
    if (done(res.status)) return { status: res.status, body: await res.json() as Record<string, unknown> };
    if (Date.now() > deadline) throw new Error(`${location} still pending after 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function poll(location: string): Promise<Record<string, unknown>> {
  const { status, body } = await pollUntil(location, (s) => s !== 202);
  expect(status).toBe(200);
  return body;
}
