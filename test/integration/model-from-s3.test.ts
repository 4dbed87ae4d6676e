/** Loading a model version from the real object store: verified, cached by sha256, and refused when tampered with. */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultSessionConfig } from '../../models/runtime/session.ts';
import { loadModel } from '../../models/loader/load-model.ts';
import { EnvReader } from '../../platform/config.ts';
import { createLogger } from '../../platform/logger.ts';
import { createS3Client, readS3Settings } from '../../platform/s3.ts';
import { REPO_ROOT } from '../../stack/pipeline-harness.ts';

const env = new EnvReader();
const settings = readS3Settings(env);
env.done();
const s3 = createS3Client(settings);
const logger = createLogger('model-s3-test', 'warn');
const prefix = `models-test-${Date.now()}`;
let cacheDir: string;

async function upload(version: string, target: string, tamper = false): Promise<void> {
  const dir = join(REPO_ROOT, 'models/fashion-mnist', version);
  const model = await readFile(join(dir, 'model.onnx'));
  if (tamper) model.writeUInt8(model.readUInt8(model.length >> 1) ^ 0xff, model.length >> 1);
  await s3.send(new PutObjectCommand({ Bucket: settings.bucket, Key: `${target}/manifest.json`, Body: await readFile(join(dir, 'manifest.json')) }));
  await s3.send(new PutObjectCommand({ Bucket: settings.bucket, Key: `${target}/model.onnx`, Body: model }));
}

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'model-cache-'));
  await upload('v2', `${prefix}/good`);
  await upload('v2', `${prefix}/tampered`, true);
});

afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

it('loads from s3:// and caches the file under its sha256', async () => {
  const uri = `s3://${settings.bucket}/${prefix}/good`;
  const model = await loadModel(uri, { session: defaultSessionConfig, logger, s3, cacheDir });
  expect(model.manifest.version).toBe('v2');
  expect(await readdir(cacheDir)).toEqual([`${model.sha256}.onnx`]);
  await model.session.release();
  const again = await loadModel(uri, { session: defaultSessionConfig, logger, s3, cacheDir });
  expect(again.sha256).toBe(model.sha256);
  await again.session.release();
});

it('refuses a tampered object before creating a session and caches nothing for it', async () => {
  // A cache of its own: the shared one already holds the verified file under this sha256 and would serve it.
  const emptyCache = await mkdtemp(join(tmpdir(), 'model-cache-'));
  await expect(loadModel(`s3://${settings.bucket}/${prefix}/tampered`, { session: defaultSessionConfig, logger, s3, cacheDir: emptyCache }))
    .rejects.toThrow(/sha256/);
  expect(await readdir(emptyCache)).toEqual([]);
  await rm(emptyCache, { recursive: true, force: true });
});

it('names a missing model prefix as NotFound', async () => {
  await expect(loadModel(`s3://${settings.bucket}/${prefix}/absent`, { session: defaultSessionConfig, logger, s3, cacheDir }))
    .rejects.toMatchObject({ errorClass: 'NotFound' });
});
