/**
 * Reading an ONNX file for the import: its bytes and sha256, the inputs and outputs ONNX Runtime reports, the
 * top-level facts of the protobuf, and one probe call that shows what the output holds.
 */
import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { sha256Hex } from '../loader/checksum.ts';
import type { InputSpec } from '../manifest.ts';
import { NotAnImageModel, type ModelIo, type TensorInfo } from './inspect.ts';
import { readOnnxFacts, type OnnxFacts } from './onnx-proto.ts';

export interface OnnxFile {
  bytes: Buffer;
  sha256: string;
  io: ModelIo;
  facts: OnnxFacts;
  session: ort.InferenceSession;
}

const info = (m: ort.InferenceSession.ValueMetadata): TensorInfo =>
  m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: undefined, shape: [] };

export async function openOnnxFile(file: string): Promise<OnnxFile> {
  const bytes = await readFile(file);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  } catch (err) {
    throw new NotAnImageModel(`${file} is not an ONNX model ONNX Runtime ${ort.env.versions.common} can load: ${err instanceof Error ? err.message : String(err)}`);
  }
  let facts: OnnxFacts;
  try {
    facts = readOnnxFacts(bytes);
  } catch (err) {
    await session.release();
    throw new NotAnImageModel(`${file}: its protobuf header cannot be read (${(err as Error).message})`);
  }
  return { bytes, sha256: sha256Hex(bytes), facts, session, io: { inputs: session.inputMetadata.map(info), outputs: session.outputMetadata.map(info) } };
}

/** The output rows of two deterministic pseudo-random inputs, or undefined when the output is not float32. */
export async function probeOutput(session: ort.InferenceSession, input: InputSpec, outputName: string): Promise<Float32Array[] | undefined> {
  const batch = input.shape[0]! > 0 ? input.shape[0]! : 2;
  const dims = [batch, ...input.shape.slice(1)];
  const size = dims.reduce((a, b) => a * b, 1);
  let seed = 12345;
  const next = (): number => {
    // A small LCG: the probe must be the same every run.
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let tensor: ort.Tensor;
  if (input.dtype === 'uint8') tensor = new ort.Tensor('uint8', Uint8Array.from({ length: size }, () => Math.floor(next() * 256)), dims);
  else if (input.dtype === 'float16') tensor = new ort.Tensor('float16', new Uint16Array(size).fill(0x3800 /* 0.5 */), dims);
  else tensor = new ort.Tensor('float32', Float32Array.from({ length: size }, () => next() * 2 - 1), dims);
  const out = (await session.run({ [input.name]: tensor }, [outputName]))[outputName]!;
  if (out.type !== 'float32') return undefined;
  const classes = out.dims[1]!;
  const data = out.data as Float32Array;
  return Array.from({ length: batch }, (_, i) => data.subarray(i * classes, (i + 1) * classes));
}
