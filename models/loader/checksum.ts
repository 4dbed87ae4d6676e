/** sha256 of model bytes, and the refusal when they do not match the manifest. */
import { createHash } from 'node:crypto';
import { PipelineError } from '../../platform/errors.ts';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Returns the verified hash; throws naming the file, both hashes and what to do. */
export function verifySha256(bytes: Uint8Array, expected: string, file: string, manifestSource: string): string {
  const actual = sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) {
    throw new PipelineError(
      'inference',
      'InferenceError',
      `Refusing model file ${file}: its sha256 is ${actual}, but ${manifestSource} expects ${expected}. ` +
        'The file is corrupt, truncated or not the one this manifest describes; copy the model version again from its source, ' +
        'or, if the model was retrained on purpose, publish the manifest written with it.',
    );
  }
  return actual;
}
