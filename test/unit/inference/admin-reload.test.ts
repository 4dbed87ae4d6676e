import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { bearerMatches, identityProblem, isAllowedModelUri, reloadRoute, type ReloadRouteOptions } from '../../../inference-consumers/service/admin-reload.ts';
import type { LoadedModel } from '../../../models/loader/load-model.ts';
import { validManifest } from './fixtures.ts';

describe('isAllowedModelUri', () => {
  const cwd = '/srv/app';
  const allowed = (uri: string, prefixes: string[]): boolean => isAllowedModelUri(uri, prefixes, cwd);

  it('allows a local directory inside an allowed one, however it is written', () => {
    const prefixes = ['models/v1'];
    expect(allowed('models/v1', prefixes)).toBe(true);
    expect(allowed('models/v1/', prefixes)).toBe(true);
    expect(allowed('models/v1/retrained', prefixes)).toBe(true);
    expect(allowed('./models/v1/../v1/x', prefixes)).toBe(true);
    expect(allowed('/srv/app/models/v1/x', prefixes)).toBe(true);
    expect(allowed('file:///srv/app/models/v1/x', prefixes)).toBe(true);
  });

  it('refuses local directories that escape with ..', () => {
    const prefixes = ['models/v1'];
    expect(allowed('models/v1/../v2', prefixes)).toBe(false);
    expect(allowed('models/v1/../../../etc', prefixes)).toBe(false);
    expect(allowed('file:///srv/app/models/v1/../../secrets', prefixes)).toBe(false);
    expect(allowed('models', prefixes)).toBe(false);
    expect(allowed('/tmp/evil', prefixes)).toBe(false);
  });

  it('refuses a sibling that only shares the prefix\'s characters', () => {
    expect(allowed('models/v1x', ['models/v1'])).toBe(false);
    expect(allowed('models/v1-evil/x', ['models/v1'])).toBe(false);
    expect(allowed('s3://models/v1x', ['s3://models/v1'])).toBe(false);
    expect(allowed('s3://models/v1x/y', ['s3://models/v1/'])).toBe(false);
  });

  it('matches S3 locations by bucket and whole prefix segments', () => {
    const prefixes = ['s3://models/v1'];
    expect(allowed('s3://models/v1', prefixes)).toBe(true);
    expect(allowed('s3://models/v1/', prefixes)).toBe(true);
    expect(allowed('s3://models/v1/2024-06', prefixes)).toBe(true);
    expect(allowed('s3://models', prefixes)).toBe(false);
    expect(allowed('s3://models/v2', prefixes)).toBe(false);
    expect(allowed('s3://other/v1', prefixes)).toBe(false);
    expect(allowed('s3://models-evil/v1', prefixes)).toBe(false);
    expect(allowed('s3://models/v1/../v2', prefixes)).toBe(false);
  });

  it('allows a whole bucket when the prefix names only the bucket', () => {
    expect(allowed('s3://models/any/thing', ['s3://models'])).toBe(true);
    expect(allowed('s3://models/any/thing', ['s3://models/'])).toBe(true);
    expect(allowed('s3://other/any', ['s3://models'])).toBe(false);
  });

  it('requires the kinds to match', () => {
    expect(allowed('s3://models/v1', ['models/v1'])).toBe(false);
    expect(allowed('models/v1', ['s3://models/v1'])).toBe(false);
    // A local directory literally named like the bucket is still local.
    expect(allowed('/srv/app/s3:/models/v1', ['s3://models/v1'])).toBe(false);
  });

  it('accepts a match among several prefixes and ignores malformed ones', () => {
    expect(allowed('s3://b/v2/x', ['models/v1', 'http://nope/', 's3://b/v2'])).toBe(true);
    expect(allowed('models/v1', ['https://x/models/v1'])).toBe(false);
    expect(allowed('models/v1', [])).toBe(false);
  });

  it('refuses URIs it cannot read', () => {
    expect(allowed('http://evil.example/model', ['models/v1'])).toBe(false);
    expect(allowed('s3://', ['s3://models'])).toBe(false);
  });
});

describe('identityProblem', () => {
  const serving = { name: 'digits', version: 'v1' };

  it('accepts the same model and version', () => {
    expect(identityProblem(serving, { name: 'digits', version: 'v1' })).toBeUndefined();
  });

  it('refuses another version or another model, saying what to do', () => {
    expect(identityProblem(serving, { name: 'digits', version: 'v2' })).toBe(
      'the manifest is digits v2, but this consumer serves digits v1; start a consumer for that version instead',
    );
    expect(identityProblem(serving, { name: 'fashion', version: 'v1' })).toMatch(/fashion v1.*serves digits v1/);
  });
});

describe('bearerMatches', () => {
  const token = 'a-long-admin-token-123';

  it('accepts the token as a bearer token', () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
  });

  it('refuses anything else', () => {
    expect(bearerMatches(undefined, token)).toBe(false);
    expect(bearerMatches('', token)).toBe(false);
    expect(bearerMatches('Bearer ', token)).toBe(false);
    expect(bearerMatches(token, token)).toBe(false);
    expect(bearerMatches(`Basic ${token}`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token}x`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token.slice(0, -1)}`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token} `, token)).toBe(false);
  });
});

describe('reloadRoute on 127.0.0.1', () => {
  const TOKEN = 'a-long-admin-token-123';
  const load = vi.fn<ReloadRouteOptions['load']>();
  let options: ReloadRouteOptions;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => void reloadRoute(options)(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    load.mockReset();
    options = { token: TOKEN, allowedPrefixes: ['s3://models/v1', 's3://staging/v1'], defaultUri: 's3://models/v1', load };
  });

  const call = (path = '/admin/reload', init: RequestInit = {}) =>
    fetch(`${base}${path}`, { method: 'POST', ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });
  const loaded = (uri: string): LoadedModel => ({
    manifest: validManifest({ name: 'digits', version: 'v1' }), session: {} as InferenceSession, provider: 'cpu', sha256: 'f'.repeat(64), uri,
  });

  it('is off (404) when no token is configured, whatever the request says', async () => {
    options = { ...options, token: undefined };
    const res = await call();
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/ADMIN_TOKEN/);
    expect(load).not.toHaveBeenCalled();
  });

  it('answers 405 to anything but POST', async () => {
    const res = await call('/admin/reload', { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(load).not.toHaveBeenCalled();
  });

  it('answers 401 without the token or with a wrong one', async () => {
    for (const authorization of ['', 'Bearer wrong-token-wrong-token', `Basic ${TOKEN}`]) {
      const res = await call('/admin/reload', { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).toMatch(/Authorization: Bearer/);
    }
    const res = await fetch(`${base}/admin/reload`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(load).not.toHaveBeenCalled();
  });

  it('answers 403 to a location outside the allowed prefixes', async () => {
    for (const uri of ['s3://models/v1x', 's3://evil/v1', '/etc', 's3://models/v1/../v2']) {
      const res = await call(`/admin/reload?uri=${encodeURIComponent(uri)}`);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('MODEL_URI_ALLOWED_PREFIXES');
    }
    expect(load).not.toHaveBeenCalled();
  });

  it('answers 422 with the reason when loading fails, and says the previous model keeps serving', async () => {
    load.mockRejectedValue(new Error('the manifest is digits v2, but this consumer serves digits v1'));
    const res = await call();
    expect(res.status).toBe(422);
    const body = await res.text();
    expect(body).toMatch(/previous model keeps serving/);
    expect(body).toContain('digits v2');
  });

  it('loads the default location and answers 200 with what it loaded', async () => {
    load.mockImplementation(async (uri) => loaded(uri));
    const res = await call();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ model: 'digits', version: 'v1', sha256: 'f'.repeat(64), uri: 's3://models/v1' });
    expect(load.mock.calls).toEqual([['s3://models/v1']]);
  });

  it('loads a location given as ?uri= inside the allowed prefixes', async () => {
    load.mockImplementation(async (uri) => loaded(uri));
    const res = await call(`/admin/reload?uri=${encodeURIComponent('s3://staging/v1/retrained')}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ uri: 's3://staging/v1/retrained' });
    expect(load.mock.calls).toEqual([['s3://staging/v1/retrained']]);
  });
});
