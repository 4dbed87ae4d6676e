/**
 * The model manifest contract: `models/<name>/<version>/manifest.json`, written by
 * `models/training/train.py` and read by serving (preprocessing) and the drift monitor (references).
 */

/** A histogram: value v falls in bin i when edges[i] <= v < edges[i+1]; values outside clamp to the end bins. */
export interface HistogramReference {
  edges: number[];
  /** Share of reference samples per bin; length edges.length - 1, sums to 1. */
  probabilities: number[];
}

export interface InputSpec {
  /** ONNX input name. */
  name: string;
  /** ONNX shape with -1 for the dynamic batch dimension, e.g. [-1, 1, 28, 28]. */
  shape: number[];
  layout: 'NCHW' | 'NHWC';
  /** 1 = grayscale, 3 = RGB. Images are converted to this many channels before resizing. */
  channels: 1 | 3;
  width: number;
  height: number;
  /** sharp's fit: 'fill' stretches, 'cover' crops the centre, 'contain' pads. */
  resize: 'fill' | 'cover' | 'contain';
  /** sharp's kernel used for resizing. */
  kernel: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  /** Pixel values are divided by this first (255 maps 8-bit to [0,1]). */
  scale: number;
  /** Per channel, applied after scaling: (x / scale - mean) / std. */
  mean: number[];
  std: number[];
  dtype: 'float32';
}

export interface OutputSpec {
  name: string;
  /** 'logits' are turned into probabilities with softmax at serving time. */
  kind: 'logits' | 'probabilities';
  num_classes: number;
}

/**
 * Numeric precision of the model's weights and arithmetic: fp32 as trained, int8 after static quantization
 * (CPU), fp16 for GPUs. Inputs and outputs stay float32 in every case, so serving does not change.
 */
export type Precision = 'fp32' | 'int8' | 'fp16';

export const PRECISIONS: readonly Precision[] = ['fp32', 'int8', 'fp16'];

/** A manifest without the field is fp32 (every manifest written before it existed). */
export function precisionOf(manifest: Pick<ModelManifest, 'precision'>): Precision {
  return manifest.precision ?? 'fp32';
}

export interface ModelManifest {
  name: string;
  version: string;
  description: string;
  created_at: string;
  /** File name of the ONNX model next to the manifest. */
  file: string;
  /** Hex sha256 of that file; serving refuses a file that does not match. */
  sha256: string;
  architecture: string;
  framework: { exporter: string; opset: number };
  /** Optional; absent means fp32. */
  precision?: Precision;
  input: InputSpec;
  output: OutputSpec;
  labels: string[];
  lineage: {
    dataset: string;
    dataset_files: Record<string, string>;
    training_script: string;
    code_revision: string;
    seed: number;
    epochs: number;
    train_samples: number;
    validation_samples: number;
    /** For a derived model (e.g. an INT8 quantization): the version and file it was made from. */
    quantized_from?: { version: string; sha256: string };
  };
  metrics: {
    test_accuracy: number;
    test_samples: number;
    validation_accuracy: number;
    per_class_accuracy: Record<string, number>;
  };
  /** Distributions on held-out data, the baseline for drift (PSI). */
  reference: {
    source: string;
    samples: number;
    predicted_class: { probabilities: number[] };
    confidence: HistogramReference;
    brightness: HistogramReference;
    contrast: HistogramReference;
  };
}
