/**
 * The tensors this gateway's models take and give, the same for every model the pipeline serves: the
 * pipeline decodes and preprocesses the image itself (per the model's manifest), so a client sends the encoded
 * file, not a pixel tensor. -1 is a variable dimension: images per request, and top-k (the consumers' TOP_K).
 */
export interface TensorMetadata {
  name: string;
  datatype: 'BYTES' | 'FP32' | 'INT32';
  shape: number[];
}

/** `image`: encoded image files (PNG, JPEG, WebP, GIF, TIFF, AVIF). `uri`: s3:// or https:// references instead. */
export const INPUT_NAMES = ['image', 'uri'] as const;
export type InputName = (typeof INPUT_NAMES)[number];

export const MODEL_INPUTS: TensorMetadata[] = [{ name: 'image', datatype: 'BYTES', shape: [-1] }];

export const OUTPUT_TENSORS = [
  { name: 'label', datatype: 'BYTES', shape: [-1] },
  { name: 'top_labels', datatype: 'BYTES', shape: [-1, -1] },
  { name: 'top_scores', datatype: 'FP32', shape: [-1, -1] },
  { name: 'top_classes', datatype: 'INT32', shape: [-1, -1] },
] as const satisfies readonly TensorMetadata[];

export type OutputName = (typeof OUTPUT_TENSORS)[number]['name'];
export const OUTPUT_NAMES: readonly OutputName[] = OUTPUT_TENSORS.map((o) => o.name);
