/**
 * The few top-level facts of an ONNX ModelProto that onnxruntime-node does not expose: producer, default-domain
 * opset and metadata_props (where some exporters keep the class labels). Reads only the top-level protobuf
 * fields it needs and skips the rest, the graph included, without decoding it. Pure.
 */

export interface OnnxFacts {
  producer: string;
  producerVersion: string;
  /** Opset of the default (ai.onnx) domain; 0 when the file names none. */
  opset: number;
  metadata: Record<string, string>;
}

// ModelProto, onnx.proto3: producer_name = 2, producer_version = 3, opset_import = 8, metadata_props = 14.
const PRODUCER = 2;
const PRODUCER_VERSION = 3;
const OPSET_IMPORT = 8;
const METADATA_PROPS = 14;

interface Field {
  number: number;
  /** Length-delimited payload, or undefined for a varint / fixed field. */
  bytes?: Uint8Array;
  varint?: number;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw new RangeError('truncated varint');
      const b = buf[pos++]!;
      // Multiplication instead of << keeps values above 2^31 (lengths of large graphs) exact.
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new RangeError('varint too long');
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { number, varint: varint() };
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const length = varint();
      if (pos + length > buf.length) throw new RangeError(`field ${number} runs past the end of the file`);
      yield { number, bytes: buf.subarray(pos, pos + length) };
      pos += length;
    } else throw new RangeError(`unsupported protobuf wire type ${wire} for field ${number}`);
  }
}

const text = (b: Uint8Array | undefined): string => (b ? new TextDecoder().decode(b) : '');

/** Throws RangeError when the bytes are not a protobuf message. */
export function readOnnxFacts(model: Uint8Array): OnnxFacts {
  const facts: OnnxFacts = { producer: '', producerVersion: '', opset: 0, metadata: {} };
  for (const f of fields(model)) {
    if (f.number === PRODUCER) facts.producer = text(f.bytes);
    else if (f.number === PRODUCER_VERSION) facts.producerVersion = text(f.bytes);
    else if (f.number === OPSET_IMPORT && f.bytes) {
      let domain = '';
      let version = 0;
      for (const g of fields(f.bytes)) {
        if (g.number === 1) domain = text(g.bytes);
        else if (g.number === 2) version = g.varint ?? 0;
      }
      if (domain === '' || domain === 'ai.onnx') facts.opset = version;
    } else if (f.number === METADATA_PROPS && f.bytes) {
      let key = '';
      let value = '';
      for (const g of fields(f.bytes)) {
        if (g.number === 1) key = text(g.bytes);
        else if (g.number === 2) value = text(g.bytes);
      }
      facts.metadata[key] = value;
    }
  }
  return facts;
}
