/** Reads a model version from a local directory: manifest.json plus the model file it names. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PipelineError } from '../../platform/errors.ts';
import type { ModelManifest } from '../manifest.ts';
import { verifySha256 } from './checksum.ts';
import { MANIFEST_FILE } from './model-location.ts';
import { parseManifestJson } from './parse-manifest.ts';

export interface ModelFiles {
  manifest: ModelManifest;
  /** Verified model bytes. */
  bytes: Uint8Array;
  sha256: string;
}

export async function readLocalModel(dir: string): Promise<ModelFiles> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const manifest = parseManifestJson(await readOrExplain(manifestPath, 'manifest').then((b) => b.toString('utf8')), manifestPath);
  const modelPath = path.join(dir, manifest.file);
  const bytes = await readOrExplain(modelPath, 'model file');
  return { manifest, bytes, sha256: verifySha256(bytes, manifest.sha256, modelPath, manifestPath) };
}

async function readOrExplain(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const errorClass = code === 'ENOENT' || code === 'ENOTDIR' ? 'NotFound' : code === 'EACCES' ? 'AccessDenied' : 'InternalError';
    throw new PipelineError('inference', errorClass, `Cannot read ${what} ${file} (${code ?? String(err)}); check the model path.`, false, {
      cause: err,
    });
  }
}
