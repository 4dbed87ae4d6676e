/**
 * Loads one model version: manifest validated, model bytes verified against its sha256 BEFORE ONNX
 * Runtime sees them, then a session whose input and output names must match the manifest.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { InferenceSession } from 'onnxruntime-node';
import type { Logger } from 'pino';
import { createSession, type ExecutionProvider, type SessionConfig } from '../runtime/session.ts';
import { PipelineError } from '../../platform/errors.ts';
import type { ModelManifest } from '../manifest.ts';
import { readLocalModel, type ModelFiles } from './local-source.ts';
import { parseModelLocation } from './model-location.ts';
import { readS3Model } from './s3-source.ts';

export interface LoadModelOptions {
  session: SessionConfig;
  logger: Logger;
  /** Required for s3:// model URIs. */
  s3?: S3Client;
  /** Local cache for model files downloaded from S3. */
  cacheDir?: string;
}

export interface LoadedModel {
  manifest: ModelManifest;
  session: InferenceSession;
  provider: ExecutionProvider;
  /** Verified sha256 of the model file. */
  sha256: string;
  /** The URI it was loaded from. */
  uri: string;
}

export async function loadModel(uri: string, options: LoadModelOptions): Promise<LoadedModel> {
  const files = await readModelFiles(uri, options);
  const { session, provider } = await createSession(files.bytes, options.session, options.logger);
  try {
    checkSessionMatchesManifest(session, files.manifest, uri);
  } catch (err) {
    await session.release();
    throw err;
  }
  options.logger.info(
    { model: files.manifest.name, version: files.manifest.version, sha256: files.sha256, provider, uri },
    'model loaded',
  );
  return { manifest: files.manifest, session, provider, sha256: files.sha256, uri };
}

function readModelFiles(uri: string, options: LoadModelOptions): Promise<ModelFiles> {
  const location = parseModelLocation(uri);
  if (location.kind === 'local') return readLocalModel(location.dir);
  if (options.s3 === undefined) {
    return Promise.reject(new PipelineError('inference', 'UnsupportedUri', `Cannot load ${uri}: no S3 client is configured.`));
  }
  return readS3Model(location.bucket, location.prefix, { client: options.s3, cacheDir: options.cacheDir, logger: options.logger });
}

function checkSessionMatchesManifest(session: InferenceSession, manifest: ModelManifest, uri: string): void {
  const problems: string[] = [];
  if (!session.inputNames.includes(manifest.input.name)) {
    problems.push(`input.name "${manifest.input.name}" is not a model input (${session.inputNames.join(', ')})`);
  }
  if (!session.outputNames.includes(manifest.output.name)) {
    problems.push(`output.name "${manifest.output.name}" is not a model output (${session.outputNames.join(', ')})`);
  }
  const input = session.inputMetadata.find((m) => m.name === manifest.input.name);
  if (input?.isTensor) {
    if (input.type !== manifest.input.dtype) problems.push(`input.dtype is "${manifest.input.dtype}" but the model's input "${input.name}" takes ${input.type}`);
    // A model exported with a fixed batch size refuses any other: the manifest must say so for serving to slice batches.
    const batch = input.shape[0];
    if (typeof batch === 'number' && batch > 0 && manifest.input.shape[0] !== batch) {
      problems.push(`input.shape[0] is ${manifest.input.shape[0]} but the model's batch dimension is fixed at ${batch}`);
    }
  }
  const output = session.outputMetadata.find((m) => m.name === manifest.output.name);
  if (output?.isTensor && output.type !== 'float32' && output.type !== 'float16') {
    problems.push(`output "${output.name}" is ${output.type}; serving reads float32 or float16 scores`);
  }
  if (problems.length > 0) {
    throw new PipelineError('inference', 'SchemaError', `Model ${uri} does not match its manifest: ${problems.join('; ')}.`);
  }
}
