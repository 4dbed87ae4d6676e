/**
 * The gateway's browser page (gateway/page) and GET /v2/models: routes, the files and headers served, the page's
 * HTML rules (no inline script or style, only its own files), and view.js against the gateway's own protocol code:
 * the request it builds is what the gateway parses, the answers it reads are what the gateway writes. The page
 * in a real browser against the real pipeline is test/e2e/gateway-page.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../../inference-consumers/service/prediction.ts';
import { Authenticator } from '../../../gateway/http/auth.ts';
import { HttpError } from '../../../gateway/http/http-error.ts';
import { GatewayServer, type ResponseMeta } from '../../../gateway/http/gateway-server.ts';
import { openApiDocument } from '../../../gateway/http/openapi-document.ts';
import { RateLimiter } from '../../../gateway/http/rate-limiter.ts';
import { matchRoute } from '../../../gateway/http/routes.ts';
import { createGatewayMetrics } from '../../../gateway/metrics.ts';
import { loadCatalog } from '../../../gateway/model-catalog.ts';
import { PAGE_FILES, pageFiles } from '../../../gateway/page/assets.ts';
import { esc, inferRequest, inferTargets, readAnswer, renderAnswer, renderPending, retryDelayMs, RETRIES_AFTER_429 } from '../../../gateway/page/view.js';
import { RequestTracker } from '../../../gateway/pipeline/request-tracker.ts';
import { splitBody } from '../../../gateway/protocol/binary-tensor.ts';
import { parseInferRequest } from '../../../gateway/protocol/infer-request.ts';
import { buildInferResponse, servedPart, type ServedPrediction } from '../../../gateway/protocol/infer-response.ts';
import { createLogger } from '../../../platform/logger.ts';
import { REPO_ROOT } from '../../../stack/pipeline-harness.ts';
import { refusal } from './fixtures.ts';

const PAGE_DIR = join(REPO_ROOT, 'gateway', 'page');
const TOKEN = 'page-test-token-0123456789';
const LIMITS = { maxBatch: 4, maxStringBytes: 256, uri: { schemes: ['s3'], allow: ['s3://images/'], maxUriBytes: 1_024 } };

describe('page routes', () => {
  it('serves the page at /ui and its files at /ui/{file}, without a token', () => {
    expect(matchRoute('GET', '/ui')).toMatchObject({ name: 'page', file: 'index.html', open: true, template: '/ui[/{file}]', model: '', version: null });
    expect(matchRoute('GET', '/ui/')).toMatchObject({ name: 'page', file: 'index.html' });
    expect(matchRoute('GET', '/ui/page.js?v=1')).toMatchObject({ name: 'page', file: 'page.js' });
    expect(matchRoute('GET', '/ui/view%2Ejs')).toMatchObject({ name: 'page', file: 'view.js' });
    expect(refusal(() => matchRoute('GET', '/ui/a/b')).status).toBe(404);
    expect(refusal(() => matchRoute('GET', '/uix')).status).toBe(404);
    // A person who opens the gateway's root in a browser is told where the page is.
    expect(refusal(() => matchRoute('GET', '/')).message).toMatch(/a page for people at \/ui$/);
    expect(refusal(() => matchRoute('POST', '/ui')).status).toBe(405);
  });

  it('lists the models at /v2/models, with a token, and leaves /v2/models/{name} as it was', () => {
    expect(matchRoute('GET', '/v2/models')).toMatchObject({ name: 'models', open: false, template: '/v2/models' });
    expect(matchRoute('GET', '/v2/models/')).toMatchObject({ name: 'models' });
    expect(matchRoute('GET', '/v2/models/fashion-mnist')).toMatchObject({ name: 'model', model: 'fashion-mnist', file: '' });
    expect(refusal(() => matchRoute('POST', '/v2/models')).status).toBe(405);
  });
});

describe('page files', () => {
  const html = readFileSync(join(PAGE_DIR, 'index.html'), 'utf8');

  it('reads only the allow-listed files, with the Content-Security-Policy that allows no inline script', async () => {
    const read = pageFiles();
    for (const name of PAGE_FILES) {
      const file = await read(name);
      expect(file.body.equals(readFileSync(join(PAGE_DIR, name))), name).toBe(true);
      expect(file.headers['content-security-policy']).toMatch(/(^|; )script-src 'self'(;|$)/);
      expect(file.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(file.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await read('page.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    for (const name of ['assets.ts', 'view.d.ts', '../openapi.json', '', 'constructor']) {
      await expect(read(name), name).rejects.toMatchObject({ status: 404 });
    }
  });

  it('has no inline script, style or event handler, and loads only its own files', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\/ui\/[^"]+"/);
      expect(body).toBe('');
    }
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(referenced.every((r) => r.startsWith('/ui/') && PAGE_FILES.includes(r.slice(4))), referenced.join(', ')).toBe(true);
    // Every module page.js imports is served too.
    const imports = [...readFileSync(join(PAGE_DIR, 'page.js'), 'utf8').matchAll(/from '\.\/([^']+)'/g)].map((m) => m[1]);
    expect(imports.every((f) => PAGE_FILES.includes(f as string))).toBe(true);
  });

  it('has every element page.js looks up, and a token field that is never submitted as a form', () => {
    const ids = [...readFileSync(join(PAGE_DIR, 'page.js'), 'utf8').matchAll(/\$\('([^']+)'\)/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(5);
    for (const id of ids) expect(html, id).toContain(`id="${id}"`);
    const field = /<input id="token"[^>]*>/.exec(html)?.[0] ?? '';
    expect(field).toContain('type="password"');
    expect(field).not.toMatch(/\sname=|\svalue=/);
  });

  it('lists the served file names in openapi.json', () => {
    const doc = JSON.parse(readFileSync(join(REPO_ROOT, 'gateway', 'openapi.json'), 'utf8'));
    expect(doc.paths['/ui/{file}'].get.parameters[0].schema.enum).toEqual([...PAGE_FILES]);
  });
});

const prediction = (version: string): ServedPrediction => ({
  request_id: 'r-1', model_name: 'fashion-mnist', model_version: version, experiment_id: 'ab',
  predicted_label: 'Ankle boot', top_k: [{ index: 9, label: 'Ankle boot', score: 0.9375 }, { index: 7, label: 'Sneaker', score: 0.046875 }],
});

describe('view.js', () => {
  it('builds a binary tensor request that the gateway parses back into the same file', () => {
    const file = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255, 254, 10, 13]);
    const { body, headers } = inferRequest(file);
    expect(headers['content-type']).toBe('application/octet-stream');
    const { json, binary } = splitBody(Buffer.from(body), headers['inference-header-content-length']);
    const parsed = parseInferRequest(json, binary, LIMITS);
    expect(parsed.input).toEqual({ kind: 'image', images: [Buffer.from(file)] });
    expect(parsed.outputs).toEqual([{ name: 'top_labels', binary: false }, { name: 'top_scores', binary: false }]);
  });

  it('calls each model without a version and with each version, on the infer routes the gateway matches', () => {
    const targets = inferTargets({ models: [{ name: 'fashion-mnist', versions: ['v1', 'v2'] }, { name: 'a b/c', versions: ['x/1'] }] });
    expect(targets.map((t) => [t.model, t.version])).toEqual([['fashion-mnist', null], ['fashion-mnist', 'v1'], ['fashion-mnist', 'v2'], ['a b/c', null], ['a b/c', 'x/1']]);
    for (const t of targets) expect(matchRoute('POST', t.path)).toMatchObject({ name: 'infer', model: t.model, version: t.version });
    expect(inferTargets(null)).toEqual([]);
  });

  it('reads the top-k, the served version and the request id from what the gateway answers', () => {
    const { body } = buildInferResponse([prediction('v2')], { modelName: 'fashion-mnist', pinnedVersion: 'v2', id: 'i', inferenceId: 'r-1', outputs: [{ name: 'top_labels', binary: false }, { name: 'top_scores', binary: false }] });
    const answer = readAnswer(200, JSON.parse(body.toString('utf8')), 12.5);
    expect(answer).toEqual({
      ok: true, status: 200, ms: 12.5, servedVersion: 'v2', requestId: 'r-1', experimentId: 'ab',
      top: [{ label: 'Ankle boot', score: 0.9375 }, { label: 'Sneaker', score: 0.046875 }],
    });
    const html = renderAnswer({ model: 'fashion-mnist', version: 'v2', path: '/v2/models/fashion-mnist/versions/v2/infer' }, answer);
    expect([...html.matchAll(/data-testid="top" data-label="([^"]+)" data-score="([^"]+)"/g)].map((m) => [m[1], Number(m[2])])).toEqual([['Ankle boot', 0.9375], ['Sneaker', 0.046875]]);
    expect(html).toContain('data-request-id="r-1"');
    expect(html).toContain('12.5 ms');
  });

  it('shows the gateway\'s status and error, such as a pin the experiment refused', () => {
    const conflict = new HttpError(409, 'version v2 was asked for but request r-1 was served by v1', { fields: { id: 'r-1' } });
    const answer = readAnswer(409, conflict.body(), 140);
    expect(answer).toMatchObject({ ok: false, status: 409, error: 'version v2 was asked for but request r-1 was served by v1' });
    const html = renderAnswer({ model: 'fashion-mnist', version: 'v2', path: '/p' }, answer);
    expect(html).toContain('data-status="409"');
    expect(html).toContain('HTTP 409');
    expect(html).toContain('140 ms');
    expect(readAnswer(502, null, 1)).toMatchObject({ ok: false, error: 'the gateway answered HTTP 502' });
    expect(readAnswer(200, { outputs: [] }, 1)).toMatchObject({ ok: false, error: expect.stringMatching(/no top_labels/) });
  });

  it('sends a request again only after a 429, after its Retry-After (at most 5 s), a bounded number of times', () => {
    expect(retryDelayMs(429, '1', 0)).toBe(1_000);
    expect(retryDelayMs(429, '0', 1)).toBe(0);
    expect(retryDelayMs(429, '3600', 0)).toBe(5_000);
    expect(retryDelayMs(429, null, 0)).toBe(1_000);
    expect(retryDelayMs(429, 'soon', 0)).toBe(1_000);
    expect(retryDelayMs(429, '1', RETRIES_AFTER_429)).toBeNull();
    for (const status of [200, 401, 409, 503, 504]) expect(retryDelayMs(status, '1', 0)).toBeNull();
  });

  it('escapes every text from the gateway', () => {
    const evil = '<img src=x onerror="alert(1)">';
    const target = { model: evil, version: evil, path: '/p' };
    const html = [
      renderPending(target),
      renderAnswer(target, { ok: false, status: 500, ms: 1, error: evil }),
      renderAnswer(target, { ok: true, status: 200, ms: 1, servedVersion: evil, requestId: evil, experimentId: evil, top: [{ label: evil, score: 0.5 }] }),
    ].join('');
    expect(html).not.toContain('<img');
    expect(html).toContain(esc(evil));
  });
});

describe('GET /ui and GET /v2/models over HTTP', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const tracker = new RequestTracker<Prediction, ResponseMeta, ServedPrediction>({ maxTracked: 10, maxTrackedPerClient: 10, ttlMs: 60_000, keep: servedPart });
    const gateway = new GatewayServer({
      catalog: await loadCatalog(join(REPO_ROOT, 'models')),
      tracker,
      submit: async () => { throw new Error('no inference in this test'); },
      auth: new Authenticator([{ name: 'page', token: TOKEN }], false),
      limiter: new RateLimiter(100, 100),
      metrics: createGatewayMetrics(new Registry(), () => ({ tracked: 0, waiting: 0 })),
      logger: createLogger('gateway-page-test', 'silent'),
      ready: () => true,
      limits: { ...LIMITS, maxBodyBytes: 64 * 1024, timeoutMs: 1_000, resultTtlMs: 1_000, maxInFlightPerClient: 2 },
      server: { name: 'gateway-test', version: '0.0.0' },
      openapi: openApiDocument(join(REPO_ROOT, 'gateway', 'openapi.json')),
      page: pageFiles(),
    });
    server = await gateway.listen('127.0.0.1', 0);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('serves the page without a token, with its Content-Security-Policy', async () => {
    const page = await fetch(`${base}/ui`);
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toBe(readFileSync(join(PAGE_DIR, 'index.html'), 'utf8'));
    const script = await fetch(`${base}/ui/view.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    const missing = await fetch(`${base}/ui/assets.ts`);
    expect([missing.status, (await missing.json()).error]).toEqual([404, 'the page has no file "assets.ts"; open /ui']);
  });

  it('answers /v2/models with every model and version of the catalog, only with a token', async () => {
    expect((await fetch(`${base}/v2/models`)).status).toBe(401);
    expect((await fetch(`${base}/v2/models`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const listed = await fetch(`${base}/v2/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(listed.status).toBe(200);
    const catalog = await loadCatalog(join(REPO_ROOT, 'models'));
    expect(await listed.json()).toEqual({ models: catalog.names.map((name) => ({ name, versions: catalog.versions(name) })) });
    expect(catalog.versions('fashion-mnist')).toEqual(expect.arrayContaining(['v1', 'v2']));
  });
});
