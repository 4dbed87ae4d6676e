/** The reference distributions and calibrations of every known model version, from their manifests on local disk. */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE } from '../../models/loader/model-location.ts';
import { parseManifestJson } from '../../models/loader/parse-manifest.ts';
import type { ModelManifest } from '../../models/manifest.ts';
import { calibrationOf, type CalibrationLookup, type ModelCalibration } from '../analytics/label-free.ts';
import type { ModelReference, ReferenceLookup } from '../analytics/reference.ts';

const MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

/** Every models/<name>/<version>/manifest.json of this checkout. */
export function defaultManifestPaths(modelsDir = MODELS_DIR): string[] {
  if (!existsSync(modelsDir)) return [];
  const paths: string[] = [];
  for (const name of readdirSync(modelsDir, { withFileTypes: true })) {
    if (!name.isDirectory()) continue;
    for (const version of readdirSync(join(modelsDir, name.name), { withFileTypes: true })) {
      const manifest = join(modelsDir, name.name, version.name, MANIFEST_FILE);
      if (version.isDirectory() && existsSync(manifest)) paths.push(manifest);
    }
  }
  return paths.sort();
}

export interface LoadedReferences {
  lookup: ReferenceLookup;
  /** `name/version` of each model with a reference, for the start log. */
  models: string[];
  /** Temperatures (and correctness models) of the models whose manifest has a calibration (label-free accuracy). */
  calibration: CalibrationLookup;
  /** `name/version` of each model with a calibration, for the start log. */
  calibrated: string[];
}

/** Reads and validates the manifests; throws naming the file and the fields to fix. */
export async function loadReferences(paths: readonly string[]): Promise<LoadedReferences> {
  const byModel = new Map<string, { reference: ModelReference; path: string }>();
  const calibrations = new Map<string, ModelCalibration>();
  const seen = new Map<string, string>();
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read model manifest ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); fix DRIFT_MANIFESTS`, { cause: err });
    }
    const manifest: ModelManifest = parseManifestJson(text, path);
    const key = `${manifest.name}/${manifest.version}`;
    const earlier = seen.get(key);
    if (earlier) throw new Error(`model ${key} has two manifests, ${earlier} and ${path}; list one of them in DRIFT_MANIFESTS`);
    seen.set(key, path);
    const calibration = calibrationOf(manifest);
    if (calibration) calibrations.set(key, calibration);
    // A manifest without a reference leaves the model to the warm-up baseline (lookup answers undefined).
    if (manifest.reference) byModel.set(key, { reference: { labels: manifest.labels, reference: manifest.reference }, path });
  }
  return {
    lookup: (name, version) => byModel.get(`${name}/${version}`)?.reference,
    models: [...byModel.keys()],
    calibration: (name, version) => calibrations.get(`${name}/${version}`),
    calibrated: [...calibrations.keys()],
  };
}
