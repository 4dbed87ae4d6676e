/** The manifest of an imported model: provenance instead of training lineage, reference only from samples. Pure. */
import type { InputSpec, ModelManifest, OutputSpec } from '../manifest.ts';
import type { OnnxFacts } from './onnx-proto.ts';

export const MODEL_FILE = 'model.onnx';
export const IMPORTER = 'npm run model -- import (models/import)';

export interface ImportedModel {
  name: string;
  version: string;
  description: string;
  architecture: string;
  sha256: string;
  facts: OnnxFacts;
  input: InputSpec;
  output: OutputSpec;
  labels: string[];
  source: string;
  licence: string;
  notes?: string;
  /** ISO time of the import. */
  importedAt: string;
}

/** Without a drift reference: import-model.ts adds one computed from samples. */
export function buildManifest(m: ImportedModel): ModelManifest {
  const exporter = [m.facts.producer || 'unknown exporter', m.facts.producerVersion].filter((s) => s !== '').join(' ');
  return {
    name: m.name,
    version: m.version,
    description: m.description,
    created_at: m.importedAt,
    file: MODEL_FILE,
    sha256: m.sha256,
    architecture: m.architecture,
    framework: { exporter, opset: m.facts.opset },
    input: m.input,
    output: m.output,
    labels: m.labels,
    provenance: {
      source: m.source,
      licence: m.licence,
      sha256: m.sha256,
      imported_at: m.importedAt,
      importer: IMPORTER,
      ...(m.notes ? { notes: m.notes } : {}),
    },
  };
}

/** Names a model or version may carry: they become directory names, S3 keys and Kafka-side identifiers. */
export function checkIdentifier(value: string, flag: string): string | undefined {
  return /^[a-z0-9][a-z0-9._-]{0,62}$/i.test(value) ? undefined : `${flag} ${JSON.stringify(value)}: use letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit)`;
}
