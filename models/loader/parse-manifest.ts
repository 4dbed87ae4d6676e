/** manifest.json text to a validated ModelManifest. */
import { PipelineError } from '../../platform/errors.ts';
import type { ModelManifest } from '../manifest.ts';
import { validateManifest } from './validate-manifest.ts';

export function parseManifestJson(text: string, source: string): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PipelineError('inference', 'SchemaError', `Model manifest ${source} is not valid JSON: ${(err as Error).message}`, false, { cause: err });
  }
  return validateManifest(raw, source);
}
