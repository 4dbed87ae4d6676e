/**
 * The models the gateway answers for: every models/<name>/<version>/manifest.json under GATEWAY_MODELS_DIR.
 * A path naming a model or version without a manifest is a 404 before anything is uploaded or published.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../models/loader/model-location.ts';
import { parseManifestJson } from '../models/loader/parse-manifest.ts';
import type { ModelManifest } from '../models/manifest.ts';
import { HttpError } from './http/http-error.ts';
import { MODEL_INPUTS, OUTPUT_TENSORS, type TensorMetadata } from './protocol/tensors.ts';

/** Triton's and KServe's platform name for models served by ONNX Runtime. */
const PLATFORM = 'onnxruntime_onnx';

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export class ModelCatalog {
  private readonly models = new Map<string, Map<string, ModelManifest>>();

  constructor(manifests: readonly ModelManifest[]) {
    for (const m of manifests) {
      const versions = this.models.get(m.name) ?? new Map<string, ModelManifest>();
      versions.set(m.version, m);
      this.models.set(m.name, versions);
    }
  }

  get names(): string[] {
    return [...this.models.keys()].sort();
  }

  versions(name: string): string[] {
    return [...(this.models.get(name)?.keys() ?? [])].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  /** Throws a 404 naming what exists when the model or the version does not. */
  require(name: string, version: string | null): void {
    const versions = this.models.get(name);
    if (!versions) {
      throw new HttpError(404, `unknown model "${name}"; models here: ${this.names.join(', ') || '(none)'}`);
    }
    if (version !== null && !versions.has(version)) {
      throw new HttpError(404, `model "${name}" has no version "${version}"; versions: ${this.versions(name).join(', ')}`);
    }
  }

  metadata(name: string, version: string | null): ModelMetadata {
    this.require(name, version);
    return {
      name,
      versions: version === null ? this.versions(name) : [version],
      platform: PLATFORM,
      inputs: MODEL_INPUTS,
      outputs: OUTPUT_TENSORS.map((o) => ({ name: o.name, datatype: o.datatype, shape: [...o.shape] })),
    };
  }
}

/** Reads and validates every manifest; a broken one stops the start, naming the file and its fields. */
export async function loadCatalog(modelsDir: string): Promise<ModelCatalog> {
  const entries = await readdir(modelsDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read GATEWAY_MODELS_DIR ${modelsDir} (${err.code ?? err.message}); point it at a folder of <name>/<version>/${MANIFEST_FILE}`, { cause: err });
  });
  const paths = entries.filter((e) => e.split(/[\\/]/).length === 3 && e.endsWith(MANIFEST_FILE)).sort();
  const manifests = await Promise.all(paths.map(async (p) => parseManifestJson(await readFile(join(modelsDir, p), 'utf8'), join(modelsDir, p))));
  return new ModelCatalog(manifests);
}
