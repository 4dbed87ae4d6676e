/**
 * Tiny ONNX models written byte by byte (protobuf by hand: no onnx package on the Node side), for the import
 * command's tests. Each reduces an image batch to per-channel means, so a [N, C, H, W] input gives [N, C] scores.
 */
type Dim = number | string;

const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
};
const key = (field: number, wire: number): number[] => varint(field * 8 + wire);
const int = (field: number, n: number): number[] => [...key(field, 0), ...varint(n)];
const bytes = (field: number, payload: number[]): number[] => [...key(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, 'utf8')]);

export const ELEM = { float32: 1, uint8: 2, int64: 7, float16: 10 } as const;

function valueInfo(name: string, elem: number, shape: Dim[]): number[] {
  const dims = shape.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensor = [...int(1, elem), ...bytes(2, dims)];
  return [...str(1, name), ...bytes(2, bytes(1, tensor))];
}

export interface TinyModel {
  input?: { name?: string; elem?: number; shape: Dim[] };
  /** Axes ReduceMean averages over (default the spatial ones of NCHW). */
  axes?: number[];
  outputShape: Dim[];
  /** Element type of the output; default float32. */
  outputElem?: number;
  metadata?: Record<string, string>;
  /** A second input, to test models with several. */
  extraInput?: boolean;
}

export function tinyOnnx(m: TinyModel): Buffer {
  const inputName = m.input?.name ?? 'x';
  const elem = m.input?.elem ?? ELEM.float32;
  const axes = m.axes ?? [2, 3];
  const attributes = [
    ...bytes(5, [...str(1, 'axes'), ...int(20, 7), ...axes.flatMap((a) => int(8, a))]),
    ...bytes(5, [...str(1, 'keepdims'), ...int(20, 2), ...int(3, 0)]),
  ];
  const reduce = [...str(1, inputName), ...str(2, 'scores'), ...str(4, 'ReduceMean'), ...attributes];
  const graph = [
    ...bytes(1, reduce),
    ...str(2, 'tiny'),
    ...bytes(11, valueInfo(inputName, elem, m.input?.shape ?? [])),
    ...(m.extraInput ? bytes(11, valueInfo('extra', ELEM.float32, [1])) : []),
    ...bytes(12, valueInfo('scores', m.outputElem ?? ELEM.float32, m.outputShape)),
  ];
  const model = [
    ...int(1, 8),
    ...str(2, 'imgpipe-test'),
    ...str(3, '1'),
    ...bytes(7, graph),
    ...bytes(8, [...str(1, ''), ...int(2, 13)]),
    ...Object.entries(m.metadata ?? {}).flatMap(([k, v]) => bytes(14, [...str(1, k), ...str(2, v)])),
  ];
  return Buffer.from(model);
}
