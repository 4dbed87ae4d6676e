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

/** An 8-bit colour, [r, g, b] in 0..255. */
export type Rgb = [number, number, number];

/**
 * How the image is brought to width × height:
 * - 'fill' stretches to the exact size (aspect ratio not kept);
 * - 'cover' scales to cover the size and crops the centre;
 * - 'contain' scales to fit and pads (sharp's centring) with pad_color;
 * - 'letterbox' scales to fit (scaled size rounded to the nearest pixel) and pads with pad_color: half the
 *   padding left/top (rounded down), the rest right/bottom;
 * - 'shorter_side_crop' resizes the shorter side to resize_shorter keeping the aspect ratio (the longer side
 *   truncated, as torchvision's Resize), then crops width × height from the centre (offsets rounded half to
 *   even, as torchvision's CenterCrop): the ImageNet evaluation transform 256 -> 224.
 */
export type ResizeMode = 'fill' | 'cover' | 'contain' | 'letterbox' | 'shorter_side_crop';

export const RESIZE_MODES: readonly ResizeMode[] = ['fill', 'cover', 'contain', 'letterbox', 'shorter_side_crop'];

/**
 * Element type of the input tensor. float32 and float16 carry (x / scale - mean) / std (float16 rounded to
 * nearest even from the float32 value); uint8 carries the raw 0..255 pixel values.
 */
export type InputDtype = 'float32' | 'float16' | 'uint8';

export const INPUT_DTYPES: readonly InputDtype[] = ['float32', 'float16', 'uint8'];

export interface InputSpec {
  /** ONNX input name. */
  name: string;
  /**
   * ONNX shape, e.g. [-1, 1, 28, 28]: -1 for a dynamic batch dimension, or a fixed N the model was exported
   * with (serving then runs the session in slices of N).
   */
  shape: number[];
  layout: 'NCHW' | 'NHWC';
  /** 1 = grayscale, 3 = colour. Images are converted to this many channels before resizing. */
  channels: 1 | 3;
  width: number;
  height: number;
  resize: ResizeMode;
  /** The shorter side's length before the centre crop; required with resize 'shorter_side_crop'. */
  resize_shorter?: number;
  /** Padding colour for 'contain' and 'letterbox'; default black. */
  pad_color?: Rgb;
  /** sharp's kernel used for resizing. */
  kernel: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  /** Order of the 3 colour channels in the tensor; default 'RGB'; ignored for 1 channel. */
  channel_order?: 'RGB' | 'BGR';
  /** Pixel values are divided by this first (255 maps 8-bit to [0,1]); float dtypes only. */
  scale?: number;
  /** Per channel (in channel_order), applied after scaling: (x / scale - mean) / std; float dtypes only. */
  mean?: number[];
  std?: number[];
  dtype: InputDtype;
  /** Transparent pixels are flattened onto this colour; absent: the alpha channel is dropped (colour under it kept). */
  background?: Rgb;
  /** Whether the EXIF orientation is applied before resizing; default true. */
  exif_orientation?: boolean;
}

/** The fixed batch size of a model exported with one, or undefined for a dynamic batch dimension. */
export function fixedBatchSize(spec: Pick<InputSpec, 'shape'>): number | undefined {
  const n = spec.shape[0];
  return n !== undefined && n > 0 ? n : undefined;
}

export interface OutputSpec {
  /** The output read, by name, among the model's outputs. */
  name: string;
  /**
   * 'logits' become probabilities with softmax; 'probabilities' are used as they are; 'sigmoid' are
   * independent per-class logits of a multi-label model: each becomes sigmoid(x), top-k by score.
   */
  kind: 'logits' | 'probabilities' | 'sigmoid';
  num_classes: number;
}

export const OUTPUT_KINDS: readonly OutputSpec['kind'][] = ['logits', 'probabilities', 'sigmoid'];

/**
 * Numeric precision of the model's weights and arithmetic: fp32 as trained, int8 after static quantization
 * (CPU), fp16 for GPUs. The input and output element types are the input spec's dtype and the output's own.
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
  /** How a model trained here was made; a trained model has it (an imported one may not). */
  lineage?: {
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
  /** Where an imported model came from; at least one of lineage and provenance is present. */
  provenance?: Provenance;
  /** Accuracy measured on held-out data, where there is any. */
  metrics?: {
    test_accuracy: number;
    test_samples: number;
    validation_accuracy: number;
    per_class_accuracy: Record<string, number>;
  };
  /**
   * The baseline for drift (PSI). Absent: the drift monitor learns one from the first live predictions.
   * `source` says how it was computed (held-out data, or "samples: <where>, N images" for an import).
   */
  reference?: ManifestReference;
  /**
   * How to turn the served scores into calibrated probabilities, fitted on held-out data (for the trained
   * models: models/training/calibrate.py). Absent: the drift monitor estimates no label-free accuracy.
   */
  calibration?: Calibration;
}

/**
 * Temperature scaling (Guo et al. 2017): calibrated probabilities are softmax(logits / temperature); for a model
 * whose output is probabilities, softmax(log p / temperature). The predicted class does not change.
 */
export interface Calibration {
  method: 'temperature';
  temperature: number;
  /** The held-out data it was fitted on. */
  source: string;
  samples: number;
  /** Expected calibration error (15 equal-width bins of top-1 probability) on test data, before and after. */
  test_ece_before?: number;
  test_ece_after?: number;
  /**
   * For the other label-free estimators (drift-monitor/analytics/label-free.ts), all on the same held-out data
   * scored as the drift monitor sees it (the top `scores_top_k` scores, the rest shared evenly, re-tempered):
   * its accuracy and mean calibrated top-1 probability (Difference of Confidences), and the Average Thresholded
   * Confidence thresholds on the calibrated top-1 probability and on the negative entropy, above which the share
   * of its predictions equals its accuracy. Absent in manifests calibrated before them.
   */
  scores_top_k?: number;
  validation_accuracy?: number;
  validation_mean_probability?: number;
  atc_max_probability_threshold?: number;
  atc_negative_entropy_threshold?: number;
  /**
   * Per-prediction correctness model (models/training/correctness.py): P(correct) from the calibrated top-1
   * probability and the image's quality features (input_stats.quality). When present, the drift monitor's
   * expected accuracy is the mean of these instead of the mean calibrated probability. Absent in older manifests.
   */
  correctness?: CorrectnessModel;
}

/** The inputs a correctness model's terms may use (drift-monitor/analytics/label-free.ts correctnessFeatures). */
export const CORRECTNESS_FEATURES = [
  'logit_probability', 'brightness', 'contrast', 'noise', 'zero_fraction', 'log_sharpness', 'log_blockiness', 'residual_median', 'dark_nonzero', 'dark_step',
] as const;
export type CorrectnessFeature = (typeof CORRECTNESS_FEATURES)[number];

/** One term of the logit: coefficient × f(feature), f = max(0, x − hinge_at) with a hinge, × times when given. */
export interface CorrectnessTerm {
  feature: CorrectnessFeature;
  hinge_at?: number;
  times?: CorrectnessFeature;
  coefficient: number;
}

/** logit P(correct) = intercept + Σ terms + class_offsets[predicted class]. */
export interface CorrectnessModel {
  method: 'logistic';
  features: CorrectnessFeature[];
  intercept: number;
  terms: CorrectnessTerm[];
  /** One per class (output.num_classes). */
  class_offsets: number[];
  /** What it was fitted on. */
  source?: string;
  samples?: number;
}

export interface Provenance {
  /** Where the file was obtained (a package and version, a URL). */
  source: string;
  licence: string;
  /** Hex sha256 of the file as obtained. */
  sha256: string;
  imported_at: string;
  /** The tool (and version) that wrote the manifest. */
  importer: string;
  notes?: string;
}

export interface ManifestReference {
  source: string;
  samples: number;
  predicted_class: { probabilities: number[] };
  confidence: HistogramReference;
  brightness: HistogramReference;
  contrast: HistogramReference;
}
