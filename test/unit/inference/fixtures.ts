/** Shared test data for the inference unit tests. */
import { pino } from 'pino';
import type { ModelManifest } from '../../../models/manifest.ts';

export const silentLogger = pino({ level: 'silent' });

const uniform = (bins: number) => ({
  edges: Array.from({ length: bins + 1 }, (_, i) => i / bins),
  probabilities: Array.from({ length: bins }, () => 1 / bins),
});

/** A manifest of a model trained here: every optional section present. */
export type TrainedManifest = ModelManifest & Required<Pick<ModelManifest, 'lineage' | 'metrics' | 'reference'>>;

/** A complete, valid manifest for a 28x28 grayscale 10-class model; a fresh copy per call. */
export function validManifest(overrides: Partial<ModelManifest> = {}): TrainedManifest {
  const labels = Array.from({ length: 10 }, (_, i) => `class-${i}`);
  return {
    name: 'test-model',
    version: 'v1',
    description: 'fixture',
    created_at: '2024-01-01T00:00:00Z',
    file: 'model.onnx',
    sha256: 'a'.repeat(64),
    architecture: 'linear',
    framework: { exporter: 'test', opset: 17 },
    input: {
      name: 'input',
      shape: [-1, 1, 28, 28],
      layout: 'NCHW',
      channels: 1,
      width: 28,
      height: 28,
      resize: 'fill',
      kernel: 'lanczos3',
      scale: 255,
      mean: [0.5],
      std: [0.5],
      dtype: 'float32',
    },
    output: { name: 'logits', kind: 'logits', num_classes: 10 },
    labels,
    lineage: {
      dataset: 'fixture',
      dataset_files: {},
      training_script: 'none',
      code_revision: 'none',
      seed: 1,
      epochs: 1,
      train_samples: 0,
      validation_samples: 0,
    },
    metrics: {
      test_accuracy: 0.5,
      test_samples: 0,
      validation_accuracy: 0.5,
      per_class_accuracy: Object.fromEntries(labels.map((l) => [l, 0.5])),
    },
    reference: {
      source: 'fixture',
      samples: 0,
      predicted_class: { probabilities: Array.from({ length: 10 }, () => 0.1) },
      confidence: uniform(10),
      brightness: uniform(10),
      contrast: uniform(10),
    },
    ...overrides,
  } as TrainedManifest;
}
