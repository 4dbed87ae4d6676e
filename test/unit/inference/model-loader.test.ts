import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { InferenceSession } from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../../models/loader/checksum.ts';
import type { LoadedModel } from '../../../models/loader/load-model.ts';
import { parseModelLocation } from '../../../models/loader/model-location.ts';
import { ModelRegistry } from '../../../models/loader/model-registry.ts';
import { readS3Model } from '../../../models/loader/s3-source.ts';
import { silentLogger, validManifest } from './fixtures.ts';

describe('parseModelLocation', () => {
  it('accepts directories, file:// URIs and s3:// prefixes', () => {
    expect(parseModelLocation('models/x/v1', '/repo')).toEqual({ kind: 'local', dir: '/repo/models/x/v1' });
    expect(parseModelLocation('file:///srv/models/v1')).toEqual({ kind: 'local', dir: '/srv/models/v1' });
    expect(parseModelLocation('s3://models/fashion/v2/')).toEqual({ kind: 's3', bucket: 'models', prefix: 'fashion/v2' });
    expect(parseModelLocation('s3://models')).toEqual({ kind: 's3', bucket: 'models', prefix: '' });
    expect(() => parseModelLocation('https://example.com/model')).toThrow(/Unsupported model URI/);
  });
});

describe('readS3Model with a stubbed client', () => {
  const modelBytes = Buffer.from('not really onnx, only bytes to hash');
  const manifest = validManifest({ sha256: sha256Hex(modelBytes) });
  let cacheDir: string;
  let objects: Record<string, Uint8Array>;
  let send: ReturnType<typeof vi.fn>;
  let client: S3Client;

  beforeEach(async () => {
    cacheDir = await mkdtemp(path.join(tmpdir(), 'model-cache-'));
    objects = { 'fashion/v1/manifest.json': Buffer.from(JSON.stringify(manifest)), 'fashion/v1/model.onnx': modelBytes };
    send = vi.fn(async (command: GetObjectCommand) => {
      const body = objects[`${command.input.Key}`];
      if (body === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: { transformToByteArray: async () => new Uint8Array(body) } };
    });
    client = { send } as unknown as S3Client;
  });

  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('downloads manifest and model, verifies, and caches the model by sha256', async () => {
    const files = await readS3Model('bucket', 'fashion/v1', { client, cacheDir, logger: silentLogger });
    expect(files.sha256).toBe(manifest.sha256);
    expect(Buffer.from(files.bytes)).toEqual(modelBytes);
    expect(await readFile(path.join(cacheDir, `${manifest.sha256}.onnx`))).toEqual(modelBytes);
    expect(send.mock.calls.map(([c]) => (c as GetObjectCommand).input)).toEqual([
      { Bucket: 'bucket', Key: 'fashion/v1/manifest.json' },
      { Bucket: 'bucket', Key: 'fashion/v1/model.onnx' },
    ]);
  });

  it('serves a verified cached file without downloading the model again', async () => {
    await readS3Model('bucket', 'fashion/v1', { client, cacheDir, logger: silentLogger });
    send.mockClear();
    await readS3Model('bucket', 'fashion/v1', { client, cacheDir, logger: silentLogger });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('downloads again when the cached file does not match', async () => {
    await writeFile(path.join(cacheDir, `${manifest.sha256}.onnx`), 'tampered');
    const files = await readS3Model('bucket', 'fashion/v1', { client, cacheDir, logger: silentLogger });
    expect(Buffer.from(files.bytes)).toEqual(modelBytes);
    expect(send).toHaveBeenCalledTimes(2);
    expect(await readFile(path.join(cacheDir, `${manifest.sha256}.onnx`))).toEqual(modelBytes);
  });

  it('refuses a model whose bytes do not match the manifest, naming both hashes', async () => {
    objects['fashion/v1/model.onnx'] = Buffer.from('something else');
    const failure = readS3Model('bucket', 'fashion/v1', { client, cacheDir, logger: silentLogger });
    await expect(failure).rejects.toThrow(new RegExp(`s3://bucket/fashion/v1/model.onnx: its sha256 is ${sha256Hex(Buffer.from('something else'))}, but .* expects ${manifest.sha256}`));
  });

  it('maps a missing manifest to NotFound', async () => {
    await expect(readS3Model('bucket', 'nope', { client, logger: silentLogger })).rejects.toMatchObject({
      stage: 'inference',
      errorClass: 'NotFound',
      message: expect.stringMatching(/s3:\/\/bucket\/nope\/manifest\.json/),
    });
  });
});

describe('ModelRegistry', () => {
  function fakeModel(version: string): LoadedModel & { release: ReturnType<typeof vi.fn> } {
    const release = vi.fn(async () => undefined);
    return {
      manifest: validManifest({ version }),
      session: { release } as unknown as InferenceSession,
      provider: 'cpu',
      sha256: version.padEnd(64, '0'),
      uri: `/models/${version}`,
      release,
    };
  }

  it('replaces a label at run time and releases the old session only after its in-flight work', async () => {
    const models = { v1: fakeModel('v1'), v2: fakeModel('v2') };
    const registry = new ModelRegistry(async (uri) => models[path.basename(uri) as 'v1' | 'v2'], silentLogger);
    await registry.load('current', '/models/v1');

    let finish!: () => void;
    const inFlight = registry.use('current', (m) => new Promise<string>((resolve) => (finish = () => resolve(m.manifest.version))));
    await registry.load('current', '/models/v2');
    expect(registry.get('current')?.manifest.version).toBe('v2');
    expect(models.v1.release).not.toHaveBeenCalled();
    finish();
    await expect(inFlight).resolves.toBe('v1');
    expect(models.v1.release).toHaveBeenCalledTimes(1);
    expect(await registry.use('current', async (m) => m.manifest.version)).toBe('v2');
  });

  it('keeps the previous model when a replacement fails to load', async () => {
    const v1 = fakeModel('v1');
    const registry = new ModelRegistry(async (uri) => {
      if (uri.endsWith('broken')) throw new Error('sha mismatch');
      return v1;
    }, silentLogger);
    await registry.load('current', '/models/v1');
    await expect(registry.load('current', '/models/broken')).rejects.toThrow('sha mismatch');
    expect(registry.get('current')).toBe(v1);
    expect(v1.release).not.toHaveBeenCalled();
  });

  it('applies concurrent loads of one label in request order', async () => {
    const v1 = fakeModel('v1');
    const v2 = fakeModel('v2');
    const registry = new ModelRegistry(async (uri) => {
      // The first load is the slower one; the last request must still win.
      await new Promise((r) => setTimeout(r, uri.endsWith('v1') ? 30 : 1));
      return uri.endsWith('v1') ? v1 : v2;
    }, silentLogger);
    await Promise.all([registry.load('current', '/models/v1'), registry.load('current', '/models/v2')]);
    expect(registry.get('current')).toBe(v2);
    expect(v1.release).toHaveBeenCalledTimes(1);
  });

  it('refuses an unknown label and releases everything on close', async () => {
    const v1 = fakeModel('v1');
    const registry = new ModelRegistry(async () => v1, silentLogger);
    await expect(registry.use('missing', async () => 1)).rejects.toMatchObject({ errorClass: 'UnknownVersion' });
    await registry.load('a', '/models/v1');
    await registry.close();
    expect(registry.labels()).toEqual([]);
    expect(v1.release).toHaveBeenCalledTimes(1);
  });
});
