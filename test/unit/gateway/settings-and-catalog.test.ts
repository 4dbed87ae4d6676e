import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../../../platform/config.ts';
import { HttpError } from '../../../gateway/http/http-error.ts';
import { loadCatalog } from '../../../gateway/model-catalog.ts';
import { serverVersion } from '../../../gateway/server-version.ts';
import { readGatewaySettings } from '../../../gateway/settings.ts';
import { readControllerSettings } from '../../../rollouts/settings.ts';
import { REPO_ROOT } from '../../../stack/pipeline-harness.ts';

const TOKENS = 'alice:alice-token-0123456789,bob:bob-token-0123456789';

function settings(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const s = readGatewaySettings(reader);
  reader.done();
  return s;
}

function problems(env: Record<string, string>): string[] {
  try {
    settings(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('gateway settings', () => {
  it('default to port 8000 on loopback, ops on 9105, 10 MiB bodies, 16 images, 30 s, s3 and https URIs', () => {
    const s = settings({ GATEWAY_TOKENS: TOKENS });
    expect(s.http).toEqual({ host: '127.0.0.1', port: 8000 });
    expect(s.ops.port).toBe(9105);
    expect(s.tokens.map((t) => t.name)).toEqual(['alice', 'bob']);
    expect(s.anonymous).toBe(false);
    expect(s.rate).toEqual({ perSecond: 20, burst: 40 });
    expect([s.maxBodyBytes, s.maxBatch, s.timeoutMs, s.resultTtlMs]).toEqual([10 * 1024 * 1024, 16, 30_000, 600_000]);
    expect(s.uriSchemes).toEqual(['s3', 'https']);
    expect(s.uploadPrefix).toBe('gateway/uploads/');
    expect(s.modelsDir).toBe(join(REPO_ROOT, 'models/'));
  });

  it('bound what a client can make the gateway hold: 256-byte strings, 2 KiB URIs, 500 tracked and 4 in flight per client, the upload bucket only', () => {
    const s = settings({ GATEWAY_TOKENS: TOKENS, S3_BUCKET: 'uploads' });
    expect([s.maxStringBytes, s.maxUriBytes, s.maxTracked, s.maxTrackedPerClient, s.maxInFlightPerClient]).toEqual([256, 2_048, 10_000, 500, 4]);
    expect(s.uriAllow).toEqual(['s3://uploads/']);
    expect(settings({ GATEWAY_TOKENS: TOKENS, GATEWAY_MAX_TRACKED: '100' }).maxTrackedPerClient).toBe(100);
    expect(settings({ GATEWAY_TOKENS: TOKENS, GATEWAY_URI_ALLOW: 's3://images/uploads/, https://cdn.example.com/pub/, file:///srv/images/' }).uriAllow)
      .toEqual(['s3://images/uploads/', 'https://cdn.example.com/pub/', 'file:///srv/images/']);
  });

  it('refuse an allow-list entry that is not a bucket or host with a prefix ending in "/", and a per-client quota over the global one', () => {
    for (const entry of ['s3://images', 's3://images/uploads', 'https://cdn.example.com', 'ftp://host/', 'images/']) {
      expect(problems({ GATEWAY_TOKENS: TOKENS, GATEWAY_URI_ALLOW: entry }).join(), entry).toMatch(/^GATEWAY_URI_ALLOW=.*expected a comma-separated list of s3:\/\/bucket\/\[prefix\/\]/);
    }
    expect(problems({ GATEWAY_TOKENS: TOKENS, GATEWAY_MAX_TRACKED: '100', GATEWAY_MAX_TRACKED_PER_CLIENT: '101' }).join()).toMatch(/^GATEWAY_MAX_TRACKED_PER_CLIENT="101": expected an integer from 1 to 100/);
  });

  it('put the ops server on another port than the rollout controller\'s, so both start side by side with their defaults', () => {
    const rollouts = readControllerSettings(new EnvReader({}));
    expect(settings({ GATEWAY_TOKENS: TOKENS }).ops.port).not.toBe(rollouts.ops.port);
  });

  it('need tokens unless anonymous access is asked for', () => {
    expect(problems({}).join()).toMatch(/GATEWAY_TOKENS is not set|GATEWAY_TOKENS="": expected name:token pairs/);
    expect(settings({ GATEWAY_ANONYMOUS: 'true' }).tokens).toEqual([]);
  });

  it('name every bad variable at once, without echoing a token', () => {
    const found = problems({ GATEWAY_TOKENS: 'alice:short-secret', GATEWAY_PORT: 'http', GATEWAY_MAX_BATCH: '64', GATEWAY_RATE_BURST: '10', GATEWAY_URI_SCHEMES: 's3,ftp', GATEWAY_UPLOAD_PREFIX: '/abs' });
    expect(found.map((p) => p.split('=')[0])).toEqual(['GATEWAY_TOKENS', 'GATEWAY_UPLOAD_PREFIX', 'GATEWAY_RATE_BURST', 'GATEWAY_PORT', 'GATEWAY_URI_SCHEMES']);
    expect(found.join()).not.toContain('short-secret');
  });

  it('make the service exit 2 naming the variable', () => {
    const env: Record<string, string | undefined> = { ...process.env, GATEWAY_TOKENS: undefined, GATEWAY_ANONYMOUS: undefined };
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('GATEWAY_TOKENS');
  });
});

/** The repository's v1 and v2 manifests in a folder of their own: models added to the repository leave this test alone. */
function twoVersions(): string {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
  for (const version of ['v1', 'v2']) {
    mkdirSync(join(dir, 'fashion-mnist', version), { recursive: true });
    cpSync(join(REPO_ROOT, 'models', 'fashion-mnist', version, 'manifest.json'), join(dir, 'fashion-mnist', version, 'manifest.json'));
  }
  return dir;
}

describe('model catalog', () => {
  it('knows the repository\'s models and describes them in the protocol\'s metadata shape', async () => {
    const catalog = await loadCatalog(twoVersions());
    expect(catalog.names).toEqual(['fashion-mnist']);
    expect(catalog.versions('fashion-mnist')).toEqual(['v1', 'v2']);
    expect(catalog.metadata('fashion-mnist', null)).toEqual({
      name: 'fashion-mnist',
      versions: ['v1', 'v2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [-1] }],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'top_labels', datatype: 'BYTES', shape: [-1, -1] },
        { name: 'top_scores', datatype: 'FP32', shape: [-1, -1] },
        { name: 'top_classes', datatype: 'INT32', shape: [-1, -1] },
      ],
    });
    expect(catalog.metadata('fashion-mnist', 'v2').versions).toEqual(['v2']);
  });

  it('answers 404 naming what exists for an unknown model or version', async () => {
    const catalog = await loadCatalog(twoVersions());
    const status = (name: string, version: string | null): [number, string] => {
      try {
        catalog.require(name, version);
        return [200, ''];
      } catch (err) {
        return [(err as HttpError).status, (err as HttpError).message];
      }
    };
    expect(status('mnist', null)).toEqual([404, 'unknown model "mnist"; models here: fashion-mnist']);
    expect(status('fashion-mnist', 'v9')).toEqual([404, 'model "fashion-mnist" has no version "v9"; versions: v1, v2']);
    expect(status('fashion-mnist', 'v1')).toEqual([200, '']);
  });

  it('sorts versions numerically and refuses a broken manifest by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-catalog-'));
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models/fashion-mnist/v1/manifest.json'), 'utf8'));
    for (const v of ['v10', 'v2']) {
      mkdirSync(join(dir, 'fashion-mnist', v), { recursive: true });
      writeFileSync(join(dir, 'fashion-mnist', v, 'manifest.json'), JSON.stringify({ ...manifest, version: v }));
    }
    expect((await loadCatalog(dir)).versions('fashion-mnist')).toEqual(['v2', 'v10']);
    cpSync(join(dir, 'fashion-mnist', 'v2'), join(dir, 'fashion-mnist', 'v3'), { recursive: true });
    writeFileSync(join(dir, 'fashion-mnist', 'v3', 'manifest.json'), '{"name": "fashion-mnist"');
    await expect(loadCatalog(dir)).rejects.toThrow(/v3\/manifest.json is not valid JSON/);
    await expect(loadCatalog(join(dir, 'missing'))).rejects.toThrow(/cannot read GATEWAY_MODELS_DIR/);
  });
});

describe('server version', () => {
  it('is the nearest package.json above the module: the repository\'s from source, the image\'s above dist/', () => {
    expect(serverVersion()).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
    const app = mkdtempSync(join(tmpdir(), 'gateway-app-'));
    mkdirSync(join(app, 'dist', 'gateway'), { recursive: true });
    writeFileSync(join(app, 'package.json'), '{"version": "9.8.7"}');
    expect(serverVersion(join(app, 'dist', 'gateway'))).toBe('9.8.7');
  });
});
