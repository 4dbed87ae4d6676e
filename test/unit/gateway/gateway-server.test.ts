/**
 * The HTTP layer over a real socket on 127.0.0.1, with the pipeline replaced by a function that answers from
 * the tracker the way the result listener does. What the real pipeline answers is test/e2e/gateway.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../../inference-consumers/service/prediction.ts';
import { createLogger } from '../../../platform/logger.ts';
import { Authenticator } from '../../../gateway/http/auth.ts';
import { openApiDocument } from '../../../gateway/http/openapi-document.ts';
import { GatewayServer, type ResponseMeta } from '../../../gateway/http/gateway-server.ts';
import { RateLimiter } from '../../../gateway/http/rate-limiter.ts';
import { createGatewayMetrics } from '../../../gateway/metrics.ts';
import { loadCatalog } from '../../../gateway/model-catalog.ts';
import { pageFiles } from '../../../gateway/page/assets.ts';
import { RequestTracker } from '../../../gateway/pipeline/request-tracker.ts';
import type { Submission } from '../../../gateway/pipeline/submitter.ts';
import { encodeBytesElements } from '../../../gateway/protocol/binary-tensor.ts';
import { servedPart, type ServedPrediction } from '../../../gateway/protocol/infer-response.ts';
import { REPO_ROOT } from '../../../stack/pipeline-harness.ts';

const TOKEN = 'alice-token-0123456789';
const FLOOD = 'flood-token-0123456789';
const CAROL = 'carol-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let server: Server;
let base: string;
let ready = true;
/** What the fake pipeline does per submission: answer, dead-letter, or stay silent. */
let behaviour: 'predict' | 'dead-letter' | 'silent' = 'predict';
const submissions: Submission[] = [];
const tracker = new RequestTracker<Prediction, ResponseMeta, ServedPrediction>({ maxTracked: 100, maxTrackedPerClient: 100, ttlMs: 60_000, keep: servedPart });
const openApiPath = join(mkdtempSync(join(tmpdir(), 'gateway-openapi-')), 'openapi.json');
/** Called with each submission as it is made, for tests that look at what it holds. */
let onSubmit: (s: Submission) => void = () => {};
const registry = new Registry();
let png: Buffer;

function prediction(requestId: string, version: string): Prediction {
  return {
    request_id: requestId, model_name: 'fashion-mnist', model_version: version, experiment_id: 'e2e', shadow: false,
    predicted_label: 'Sneaker', top_k: [{ index: 7, label: 'Sneaker', score: 0.875 }, { index: 5, label: 'Sandal', score: 0.125 }],
  } as Prediction;
}

async function submit(s: Submission): Promise<void> {
  onSubmit(s);
  // Only what the assertions read: the images would stay reachable from here, not from the gateway.
  submissions.push({ ...s, input: s.input.kind === 'uri' ? s.input : { kind: 'image', images: [] } });
  const mode = behaviour;
  setImmediate(() => {
    for (const id of s.requestIds) {
      if (mode === 'dead-letter') tracker.deadLetter({ requestId: id, stage: 'preprocess', errorClass: 'NotAnImage', message: 'corrupt' }, false);
      if (mode === 'predict') {
        tracker.prediction({ ...prediction(id, 'v2'), shadow: true });
        tracker.prediction(prediction(id, s.pinnedVersion ?? 'v1'));
      }
    }
  });
}

beforeAll(async () => {
  png = await sharp({ create: { width: 28, height: 28, channels: 3, background: '#202020' } }).png().toBuffer();
  const gateway = new GatewayServer({
    catalog: await loadCatalog(join(REPO_ROOT, 'models')),
    tracker,
    submit,
    auth: new Authenticator([{ name: 'alice', token: TOKEN }, { name: 'flood', token: FLOOD }, { name: 'carol', token: CAROL }], false),
    limiter: new RateLimiter(5, 64),
    metrics: createGatewayMetrics(registry, () => ({ tracked: tracker.tracked, waiting: tracker.waiting })),
    logger: createLogger('gateway-test', 'silent'),
    ready: () => ready,
    limits: {
      maxBatch: 4, maxStringBytes: 256, maxBodyBytes: 64 * 1024, timeoutMs: 2_000, resultTtlMs: 60_000, maxInFlightPerClient: 2,
      highPriorityClients: ['alice'],
      uri: { schemes: ['s3', 'https'], allow: ['s3://images/'], maxUriBytes: 1_024 },
    },
    server: { name: 'gateway-test', version: '0.0.0' },
    openapi: openApiDocument(openApiPath),
    page: pageFiles(),
  });
  server = await gateway.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

const jsonBody = (body: object) => ({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const imageRequest = (images: Buffer[], extra: object = {}) => jsonBody({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [images.length], data: images.map((i) => i.toString('base64')) }], ...extra });
const infer = (init: RequestInit, path = '/v2/models/fashion-mnist/infer') => fetch(`${base}${path}`, init);

describe('gateway HTTP', () => {
  it('answers health without a token and everything else only with one', async () => {
    expect(await (await fetch(`${base}/v2/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${base}/v2/health/ready`)).json()).toEqual({ ready: true });
    const denied = await fetch(`${base}/v2/models/fashion-mnist`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await denied.json()).error).toMatch(/no bearer token/);
    expect(await (await fetch(`${base}/v2`, { headers: auth })).json()).toEqual({ name: 'gateway-test', version: '0.0.0', extensions: ['binary_tensor_data'] });
    expect((await fetch(`${base}/v2/models/fashion-mnist/versions/v2/ready`, { headers: auth })).status).toBe(200);
  });

  it('infers from JSON: publishes one request per image and answers with the served prediction, not the shadow', async () => {
    const res = await infer(imageRequest([png], { id: 'mine' }));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ model_name: 'fashion-mnist', model_version: 'v1', id: 'mine' });
    expect(body.parameters.request_id).toBe(res.headers.get('x-request-id'));
    expect(body.outputs[0]).toEqual({ name: 'label', datatype: 'BYTES', shape: [1], data: ['Sneaker'] });
    const s = submissions.at(-1)!;
    expect(s).toMatchObject({ requestIds: [body.parameters.request_id], imageTypes: ['image/png'], pinnedVersion: null, client: 'alice' });
  });

  it('gives the pipeline how long the caller waits: the timeout (or the request\'s shorter one), or the result TTL when asynchronous', async () => {
    await infer(imageRequest([png]));
    expect(submissions.at(-1)!.waitMs).toBe(2_000);
    await infer(imageRequest([png], { parameters: { timeout: 500_000 } }));
    expect(submissions.at(-1)!.waitMs).toBe(500);
    await infer(imageRequest([png], { parameters: { async: true } }));
    expect(submissions.at(-1)!.waitMs).toBe(60_000);
  });

  it('passes the priority a client may ask for on to the pipeline, and answers 403 to one that may not', async () => {
    expect((await infer(imageRequest([png], { parameters: { priority: 'high' } }))).status).toBe(200);
    expect(submissions.at(-1)!.priority).toBe('high');
    await infer(imageRequest([png]));
    expect(submissions.at(-1)!.priority).toBeNull();
    const before = submissions.length;
    const carol = await infer({ ...imageRequest([png], { parameters: { priority: 'high' } }), headers: { authorization: `Bearer ${CAROL}`, 'content-type': 'application/json' } });
    expect(carol.status).toBe(403);
    expect((await carol.json()).error).toMatch(/GATEWAY_HIGH_PRIORITY_CLIENTS/);
    expect(submissions.length).toBe(before);
    const normal = await infer({ ...imageRequest([png], { parameters: { priority: 'normal' } }), headers: { authorization: `Bearer ${CAROL}`, 'content-type': 'application/json' } });
    expect(normal.status).toBe(200);
  });

  it('infers from binary tensor data with binary outputs, as tritonclient does, and pins the path\'s version', async () => {
    const tensor = encodeBytesElements([png, png]);
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: tensor.length } }],
      outputs: [{ name: 'top_classes', parameters: { binary_data: true } }],
    }));
    const res = await infer({ method: 'POST', headers: { ...auth, 'inference-header-content-length': String(header.length) }, body: Buffer.concat([header, tensor]) }, '/v2/models/fashion-mnist/versions/v2/infer');
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const length = Number(res.headers.get('inference-header-content-length'));
    const json = JSON.parse(bytes.subarray(0, length).toString());
    expect(json.model_version).toBe('v2');
    expect(json.outputs).toEqual([{ name: 'top_classes', datatype: 'INT32', shape: [2, 2], parameters: { binary_data_size: 16 } }]);
    expect([0, 1, 2, 3].map((i) => bytes.readInt32LE(length + i * 4))).toEqual([7, 5, 7, 5]);
    expect(submissions.at(-1)!.pinnedVersion).toBe('v2');
  });

  it('answers an asynchronous request with 202 and its result later', async () => {
    const res = await infer(imageRequest([png], { parameters: { async: true } }));
    expect(res.status).toBe(202);
    const accepted = await res.json();
    expect(res.headers.get('location')).toBe(`/v2/results/${accepted.request_id}`);
    const deadline = Date.now() + 5_000;
    let result = await fetch(`${base}${accepted.result}`, { headers: auth });
    while (result.status === 202 && Date.now() < deadline) result = await fetch(`${base}${accepted.result}`, { headers: auth });
    expect(result.status).toBe(200);
    expect((await result.json()).parameters.request_id).toBe(accepted.request_id);
    expect((await fetch(`${base}${accepted.result}`, { headers: { authorization: `Bearer ${FLOOD}` } })).status).toBe(404);
  });

  it('answers 504 with the request id when nothing comes back in time, and keeps it pending for GET', async () => {
    behaviour = 'silent';
    const res = await infer(imageRequest([png], { parameters: { timeout: 50_000 } }));
    behaviour = 'predict';
    expect(res.status).toBe(504);
    const body = await res.json();
    expect(body.error).toMatch(/no answer for request .* within 50 ms/);
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect((await fetch(`${base}/v2/results/${body.request_id}`, { headers: auth })).status).toBe(202);
  });

  it('answers a dead-lettered request at once with the stage and class', async () => {
    behaviour = 'dead-letter';
    const res = await infer(imageRequest([png]));
    behaviour = 'predict';
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ stage: 'preprocess', error_class: 'NotAnImage', error: expect.stringMatching(/dead-lettered at stage preprocess \(NotAnImage\)/) });
  });

  it('refuses bad requests with the protocol\'s error format and the right status', async () => {
    const cases: [RequestInit, string, number, RegExp][] = [
      [{ method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hello' }, '/v2/models/fashion-mnist/infer', 415, /content type "text\/plain"/],
      [{ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"inputs": [' }, '/v2/models/fashion-mnist/infer', 400, /not valid JSON/],
      [imageRequest([Buffer.from('plain text, not pixels')]), '/v2/models/fashion-mnist/infer', 422, /not an image/],
      [imageRequest([png]), '/v2/models/mnist/infer', 404, /unknown model "mnist"/],
      [imageRequest([png]), '/v2/models/fashion-mnist/versions/v7/infer', 404, /no version "v7"/],
      [imageRequest([png, png, png, png, png]), '/v2/models/fashion-mnist/infer', 400, /send 1 to 4 images/],
      [{ ...imageRequest([png]), headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-0123456789' } }, '/v2/models/fashion-mnist/infer', 401, /not valid/],
      [{ ...imageRequest([png]), headers: { 'content-type': 'application/json' } }, '/v2/models/fashion-mnist/infer', 401, /no bearer token/],
      [{ method: 'GET', headers: auth }, '/v2/models/fashion-mnist/infer', 405, /use POST/],
    ];
    for (const [init, path, status, pattern] of cases) {
      const res = await infer(init, path);
      expect([path, res.status]).toEqual([path, status]);
      expect((await res.json()).error).toMatch(pattern);
    }
  });

  it('answers 413 to a body over the limit, before it is sent when the client asks first (Expect: 100-continue)', async () => {
    const big = Buffer.alloc(65 * 1024, 32);
    const res = await infer({ method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}/v2/models/fashion-mnist/infer`, {
        method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-length': String(big.length), expect: '100-continue' },
      }, (r) => {
        let body = '';
        r.on('data', (c) => { body += c; });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('continue', () => reject(new Error('the server asked for the body')));
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(early.status).toBe(413);
    expect(JSON.parse(early.body).error).toMatch(/GATEWAY_MAX_BODY_BYTES/);
  });

  it('answers 503 to inference while not connected, and /v2/health/ready says so', async () => {
    ready = false;
    const res = await infer(imageRequest([png]));
    const health = await fetch(`${base}/v2/health/ready`);
    ready = true;
    expect([res.status, health.status]).toEqual([503, 503]);
    expect(await health.json()).toEqual({ ready: false });
  });

  it('rate-limits each client on its own: 429 with Retry-After', async () => {
    const flood = { authorization: `Bearer ${FLOOD}` };
    const responses = await Promise.all(Array.from({ length: 100 }, async () => {
      const r = await fetch(`${base}/v2/models/fashion-mnist`, { headers: flood });
      await r.arrayBuffer();
      return { status: r.status, retryAfter: Number(r.headers.get('retry-after')) };
    }));
    expect(responses.filter((r) => r.status === 200).length).toBeLessThan(80);
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(20);
    expect(limited.every((r) => r.retryAfter >= 1)).toBe(true);
    expect((await fetch(`${base}/v2/models/fashion-mnist`, { headers: auth })).status).toBe(200);
  });

  it('serves its OpenAPI document without a token once the file exists, 404 in the protocol\'s format before', async () => {
    const missing = await fetch(`${base}/v2/openapi.json`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toMatch(/no OpenAPI document \(openapi.json is missing\)/);
    const document = { openapi: '3.0.3', info: { title: 'gateway', version: '1' }, paths: {} };
    writeFileSync(openApiPath, JSON.stringify(document));
    const found = await fetch(`${base}/v2/openapi.json`);
    expect([found.status, found.headers.get('content-type')]).toEqual([200, 'application/json']);
    expect(await found.json()).toEqual(document);
  });

  it('refuses an id over the limit at the door with 400 naming the setting, and a uri outside the allow-list with 403', async () => {
    const before = submissions.length;
    const res = await infer(jsonBody({ id: 'x'.repeat(60_000), inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: ['s3://images/a.png'] }] }), '/v2/models/fashion-mnist/infer');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'id is 60000 bytes, over the limit of 256 (GATEWAY_MAX_STRING_BYTES)' });
    const outside = await infer(jsonBody({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: ['s3://secrets/a.png'] }] }));
    expect(outside.status).toBe(403);
    expect((await outside.json()).error).toMatch(/GATEWAY_URI_ALLOW/);
    expect(submissions.length).toBe(before);
  });

  it('answers a dead letter with a generic reason, not the dead letter\'s message', async () => {
    behaviour = 'dead-letter';
    const res = await infer(imageRequest([png]));
    behaviour = 'predict';
    const body = await res.json();
    expect(body.error).toMatch(/the image could not be decoded \(preprocess\/NotAnImage\)/);
    expect(body.error).not.toMatch(/corrupt/);
  });

  it('releases a synchronous request\'s images once they are submitted, while it still waits', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let images: WeakRef<object> | undefined;
    const submitted = new Promise<void>((resolve) => {
      onSubmit = (s) => {
        images = new WeakRef(s.input);
        resolve();
      };
    });
    behaviour = 'silent';
    const waiting = infer(imageRequest([png, png], { parameters: { timeout: 60_000_000 } }));
    await submitted;
    onSubmit = () => {};
    behaviour = 'predict';
    // A WeakRef holds its target until the current job ends: collect on a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(images?.deref()).toBeUndefined();
    const s = submissions.at(-1)!;
    for (const id of s.requestIds) tracker.prediction(prediction(id, 'v1'));
    expect((await waiting).status).toBe(200);
  });

  it('limits a client\'s inference requests in flight: 429 naming the setting for it, others go on', async () => {
    const carol = { authorization: `Bearer ${CAROL}` };
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png.toString('base64')] }] }));
    // Each waits for 100-continue: the slot is taken in the same turn as the server's go-ahead.
    const open = (): Promise<{ req: ClientRequest; done: Promise<number> }> => new Promise((resolve, reject) => {
      let answered: (status: number) => void = () => {};
      const done = new Promise<number>((r) => { answered = r; });
      const req = httpRequest(`${base}/v2/models/fashion-mnist/infer`, {
        method: 'POST', headers: { ...carol, 'content-type': 'application/json', 'content-length': String(body.length), expect: '100-continue' },
      }, (r) => { r.resume(); r.on('end', () => answered(r.statusCode ?? 0)); });
      req.on('continue', () => resolve({ req, done }));
      req.on('error', reject);
      req.flushHeaders();
    });
    const held = [await open(), await open()];
    const third = await infer({ ...imageRequest([png]), headers: { ...carol, 'content-type': 'application/json' } });
    expect(third.status).toBe(429);
    expect((await third.json()).error).toMatch(/client carol is already sending 2 inference requests at once, its limit \(GATEWAY_MAX_IN_FLIGHT_PER_CLIENT\)/);
    expect((await infer(imageRequest([png]))).status).toBe(200);
    for (const h of held) h.req.end(body);
    expect(await Promise.all(held.map((h) => h.done))).toEqual([200, 200]);
    expect((await infer({ ...imageRequest([png]), headers: { ...carol, 'content-type': 'application/json' } })).status).toBe(200);
  });

  it('counts requests by route template and status', async () => {
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/gateway_requests_total\{route="\/v2\/models\/\{name\}\[\/versions\/\{version\}\]\/infer",code="200"\} [1-9]/);
    expect(metrics).toMatch(/gateway_requests_total\{route="\/v2\/health\/live",code="200"\} 1/);
    expect(metrics).toMatch(/gateway_request_duration_seconds_count\{route="\/v2\/results\/\{id\}"\} [1-9]/);
    expect(metrics).toMatch(/gateway_results_total\{result="timeout"\} 1/);
  });
});
