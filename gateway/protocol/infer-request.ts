/**
 * Pure: an Open Inference Protocol inference request (JSON header plus, with the binary tensor data extension,
 * binary tensor bytes) to what the gateway publishes. Every problem is a 400 that says what to send instead.
 *
 * One input, `image` or `uri`, datatype BYTES, one element per image (shape [N] or any shape of N elements):
 * - `image` in JSON: each element a base64 string of the file (JSON strings cannot hold raw bytes);
 * - `image` as binary data (`parameters.binary_data_size`, what tritonclient sends): the raw file bytes;
 * - `uri`: each element an s3:// or https:// URI the consumers fetch themselves.
 * Request parameters: `async` (answer 202 now), `timeout` (µs, as in Triton), `stickiness_key` (a user id for
 * sticky experiments), `binary_data_output` (all outputs as binary data), `priority` ("high" or "normal": the lane,
 * for clients the gateway lets ask for the high one).
 */
import { LANES, type Lane } from '../../platform/topics.ts';
import { HttpError } from '../http/http-error.ts';
import { readBytesElements } from './binary-tensor.ts';
import { keptString, quoted } from './client-strings.ts';
import { INPUT_NAMES, OUTPUT_NAMES, type InputName, type OutputName } from './tensors.ts';
import { checkUri, type UriPolicy } from './uri-allow.ts';

export interface RequestedOutput {
  name: OutputName;
  binary: boolean;
}

export type ImageInput = { kind: 'image'; images: Buffer[] } | { kind: 'uri'; uris: string[] };

export interface InferRequest {
  /** The client's id, echoed in the response. */
  id: string | undefined;
  input: ImageInput;
  outputs: RequestedOutput[];
  async: boolean;
  timeoutMs: number | undefined;
  stickinessKey: string | null;
  /** null: not asked for (the normal lane, unless an experiment rule says otherwise). */
  priority: Lane | null;
}

export interface RequestLimits {
  maxBatch: number;
  /** Bounds the strings a tracked request keeps: `id` and `parameters.stickiness_key`. */
  maxStringBytes: number;
  uri: UriPolicy;
}

type Json = Record<string, unknown>;

const bad = (message: string): HttpError => new HttpError(400, message);

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalObject(v: unknown, what: string): Json {
  if (v === undefined) return {};
  if (!isObject(v)) throw bad(`${what} must be an object of name: value pairs`);
  return v;
}

function parseJson(json: Buffer): Json {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw bad(`the request body is not valid JSON (${(err as Error).message}); send an inference request object`);
  }
  if (!isObject(value)) throw bad('the request body must be a JSON object with "inputs"');
  return value;
}

function elementCount(shape: unknown, input: string): number {
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw bad(`input "${input}": shape must be a non-empty array of non-negative integers, e.g. [1]`);
  }
  return (shape as number[]).reduce((a, b) => a * b, 1);
}

/**
 * Row-major data may be flat or nested per the shape; either way it is read as a flat list. Flattened no deeper
 * than the shape's rank: unbounded flattening recursed once per level and a 100,000-deep body overflowed the stack.
 */
function flatStrings(data: unknown, input: string, rank: number): string[] {
  if (!Array.isArray(data)) throw bad(`input "${input}": data must be an array of strings (or give parameters.binary_data_size and send the bytes after the JSON)`);
  const flat = (data as unknown[]).flat(rank - 1);
  if (!flat.every((d) => typeof d === 'string')) throw bad(`input "${input}": BYTES data elements must be strings`);
  return flat as string[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(s: string, i: number): Buffer {
  const compact = s.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64.test(compact)) {
    throw bad(`input "image": element ${i} is not base64; in JSON, BYTES elements carry the image file base64-encoded (or send it as binary data)`);
  }
  return Buffer.from(compact, 'base64');
}

function parseInput(raw: unknown, binary: Buffer, limits: RequestLimits): ImageInput {
  if (!isObject(raw)) throw bad('each input must be an object with name, datatype, shape and data');
  const name = raw.name;
  if (typeof name !== 'string' || !(INPUT_NAMES as readonly string[]).includes(name)) {
    throw bad(`unknown input ${quoted(name)}: send "image" (the encoded image file) or "uri" (an s3:// or https:// reference), datatype BYTES`);
  }
  const input = name as InputName;
  if (raw.datatype !== 'BYTES') throw bad(`input "${input}": datatype must be BYTES, got ${quoted(raw.datatype)}`);
  const count = elementCount(raw.shape, input);
  if (count < 1 || count > limits.maxBatch) throw bad(`input "${input}": ${count} elements; send 1 to ${limits.maxBatch} images per request`);
  const size = optionalObject(raw.parameters, `input "${input}": parameters`).binary_data_size;

  let elements: Buffer[] | string[];
  if (size !== undefined) {
    if (!Number.isInteger(size) || (size as number) < 0) throw bad(`input "${input}": parameters.binary_data_size must be a non-negative integer`);
    if (raw.data !== undefined) throw bad(`input "${input}": give either data or parameters.binary_data_size, not both`);
    if (size !== binary.length) throw bad(`input "${input}": parameters.binary_data_size is ${size} but ${binary.length} bytes follow the JSON header (Inference-Header-Content-Length)`);
    elements = readBytesElements(binary, count, input);
  } else {
    if (binary.length > 0) throw bad(`${binary.length} bytes follow the JSON header but no input declares parameters.binary_data_size`);
    elements = flatStrings(raw.data, input, (raw.shape as number[]).length);
    if (elements.length !== count) throw bad(`input "${input}": ${elements.length} data elements where the shape asks for ${count}`);
  }

  if (input === 'uri') {
    return { kind: 'uri', uris: elements.map((e, i) => checkUri(typeof e === 'string' ? e : e.toString('utf8'), i, limits.uri)) };
  }
  const images = elements.map((e, i) => (typeof e === 'string' ? decodeBase64(e, i) : e));
  images.forEach((img, i) => {
    if (img.length === 0) throw bad(`input "image": element ${i} is empty`);
  });
  return { kind: 'image', images };
}

function parseOutputs(raw: unknown, binaryByDefault: boolean): RequestedOutput[] {
  if (raw === undefined) return OUTPUT_NAMES.map((name) => ({ name, binary: binaryByDefault }));
  if (!Array.isArray(raw)) throw bad('outputs must be an array of {"name": ...}');
  const seen = new Set<string>();
  return raw.map((o: unknown) => {
    if (!isObject(o) || typeof o.name !== 'string' || !(OUTPUT_NAMES as readonly string[]).includes(o.name)) {
      throw bad(`unknown output ${quoted(isObject(o) ? o.name : o)}; this model gives ${OUTPUT_NAMES.join(', ')}`);
    }
    if (seen.has(o.name)) throw bad(`output "${o.name}" is asked for twice`);
    seen.add(o.name);
    const binary = optionalObject(o.parameters, `output "${o.name}": parameters`).binary_data;
    if (binary !== undefined && typeof binary !== 'boolean') throw bad(`output "${o.name}": parameters.binary_data must be true or false`);
    return { name: o.name as OutputName, binary: binary ?? binaryByDefault };
  });
}

function booleanParameter(params: Json, name: string): boolean {
  const v = params[name];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(`parameters.${name} must be true or false`);
  return v;
}

export function parseInferRequest(json: Buffer, binary: Buffer, limits: RequestLimits): InferRequest {
  const body = parseJson(json);
  if (body.id !== undefined && typeof body.id !== 'string') throw bad('id must be a string');
  const params = optionalObject(body.parameters, 'parameters');
  const timeout = params.timeout;
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) throw bad('parameters.timeout must be a positive number of microseconds');
  const stickiness = params.stickiness_key;
  if (stickiness !== undefined && (typeof stickiness !== 'string' || stickiness === '')) throw bad('parameters.stickiness_key must be a non-empty string');
  if (stickiness !== undefined) keptString(stickiness, 'parameters.stickiness_key', limits.maxStringBytes);
  if (body.id !== undefined) keptString(body.id as string, 'id', limits.maxStringBytes);
  const priority = params.priority;
  if (priority !== undefined && !(LANES as readonly unknown[]).includes(priority)) throw bad(`parameters.priority must be ${LANES.map((l) => `"${l}"`).join(' or ')}`);
  if (!Array.isArray(body.inputs) || body.inputs.length !== 1) {
    throw bad('inputs must hold exactly one input: "image" (BYTES, the encoded files) or "uri" (BYTES, s3:// or https:// references)');
  }
  return {
    id: body.id as string | undefined,
    input: parseInput(body.inputs[0], binary, limits),
    outputs: parseOutputs(body.outputs, booleanParameter(params, 'binary_data_output')),
    async: booleanParameter(params, 'async'),
    timeoutMs: timeout === undefined ? undefined : Math.max(1, Math.ceil((timeout as number) / 1000)),
    stickinessKey: (stickiness as string | undefined) ?? null,
    priority: (priority as Lane | undefined) ?? null,
  };
}
