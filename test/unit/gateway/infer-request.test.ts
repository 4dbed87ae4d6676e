import { describe, expect, it } from 'vitest';
import { encodeBytesElements, readBytesElements, splitBody } from '../../../gateway/protocol/binary-tensor.ts';
import { parseInferRequest, type InferRequest } from '../../../gateway/protocol/infer-request.ts';
import { refusal } from './fixtures.ts';

const LIMITS = { maxBatch: 4, maxStringBytes: 64, uri: { schemes: ['s3', 'https'], allow: ['s3://images/', 'https://example.com/'], maxUriBytes: 128 } };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');

function parseJson(body: unknown): InferRequest {
  return parseInferRequest(Buffer.from(JSON.stringify(body)), Buffer.alloc(0), LIMITS);
}

/** A body as tritonclient builds it: JSON header, then the tensor bytes; returns what the server sees. */
function binaryBody(header: object, tensor: Buffer): { json: Buffer; binary: Buffer } {
  const json = Buffer.from(JSON.stringify(header));
  return splitBody(Buffer.concat([json, tensor]), String(json.length));
}

const status = (fn: () => unknown): number => refusal(fn).status;
const message = (fn: () => unknown): string => refusal(fn).message;

const image = (data: unknown, shape: number[] = [1], extra: object = {}) => ({ inputs: [{ name: 'image', datatype: 'BYTES', shape, data, ...extra }] });

describe('inference request in JSON', () => {
  it('reads base64 image elements, flat or nested, and asks for every output in JSON by default', () => {
    const r = parseJson({ id: 'req-1', ...image([[PNG.toString('base64')], [JPEG.toString('base64')]], [2, 1]) });
    expect(r.id).toBe('req-1');
    expect(r.input).toEqual({ kind: 'image', images: [PNG, JPEG] });
    expect(r.outputs).toEqual([
      { name: 'label', binary: false }, { name: 'top_labels', binary: false },
      { name: 'top_scores', binary: false }, { name: 'top_classes', binary: false },
    ]);
    expect(r.async).toBe(false);
    expect(r.timeoutMs).toBeUndefined();
    expect(r.stickinessKey).toBeNull();
  });

  it('reads the priority parameter: high or normal, absent as null, anything else refused', () => {
    expect(parseJson({ parameters: { priority: 'high' }, ...image([PNG.toString('base64')]) }).priority).toBe('high');
    expect(parseJson({ parameters: { priority: 'normal' }, ...image([PNG.toString('base64')]) }).priority).toBe('normal');
    expect(parseJson(image([PNG.toString('base64')])).priority).toBeNull();
    expect(message(() => parseJson({ parameters: { priority: 'urgent' }, ...image([PNG.toString('base64')]) }))).toMatch(/parameters.priority must be "normal" or "high"/);
  });

  it('reads the parameters: async, timeout in microseconds, stickiness key, binary outputs', () => {
    const r = parseJson({ parameters: { async: true, timeout: 2_500_000, stickiness_key: 'user-7', binary_data_output: true }, ...image([PNG.toString('base64')]) });
    expect(r.async).toBe(true);
    expect(r.timeoutMs).toBe(2_500);
    expect(r.stickinessKey).toBe('user-7');
    expect(r.outputs.every((o) => o.binary)).toBe(true);
  });

  it('honours the outputs asked for and their binary_data flag', () => {
    const r = parseJson({ ...image([PNG.toString('base64')]), outputs: [{ name: 'top_scores', parameters: { binary_data: true } }, { name: 'label' }] });
    expect(r.outputs).toEqual([{ name: 'top_scores', binary: true }, { name: 'label', binary: false }]);
  });

  it('takes s3:// and https:// URIs and refuses other schemes', () => {
    const r = parseJson({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [2], data: ['s3://images/a.png', 'https://example.com/b.jpg'] }] });
    expect(r.input).toEqual({ kind: 'uri', uris: ['s3://images/a.png', 'https://example.com/b.jpg'] });
    const file = () => parseJson({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: ['file:///etc/passwd'] }] });
    expect(status(file)).toBe(400);
    expect(message(file)).toMatch(/file:\/\/.*s3:\/\/ or https:\/\/ \(GATEWAY_URI_SCHEMES\)/);
    expect(status(() => parseJson({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: ['not a uri'] }] }))).toBe(400);
  });

  it.each([
    ['not JSON', '{"inputs": [', /not valid JSON/],
    ['an array', '[]', /JSON object/],
    ['no inputs', '{}', /exactly one input/],
    ['two inputs', JSON.stringify({ inputs: [image(['aGk='], [1]).inputs[0], image(['aGk='], [1]).inputs[0]] }), /exactly one input/],
    ['an unknown input', JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'BYTES', shape: [1], data: ['aGk='] }] }), /unknown input "pixels"/],
    ['a numeric datatype', JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1], data: [1] }] }), /datatype must be BYTES/],
    ['a bad shape', JSON.stringify(image(['aGk='], [-1])), /shape must be/],
    ['too many images', JSON.stringify(image(['aGk=', 'aGk=', 'aGk=', 'aGk=', 'aGk='], [5])), /send 1 to 4 images/],
    ['no images', JSON.stringify(image([], [0])), /send 1 to 4 images/],
    ['data and shape disagreeing', JSON.stringify(image(['aGk=', 'aGk='], [1])), /2 data elements where the shape asks for 1/],
    ['numbers as BYTES', JSON.stringify(image([12], [1])), /must be strings/],
    ['data that is not base64', JSON.stringify(image(['not base64!'], [1])), /not base64/],
    ['an empty image', JSON.stringify(image([''], [1])), /not base64/],
    ['an unknown output', JSON.stringify({ ...image(['aGk=']), outputs: [{ name: 'logits' }] }), /unknown output "logits"/],
    ['an output twice', JSON.stringify({ ...image(['aGk=']), outputs: [{ name: 'label' }, { name: 'label' }] }), /twice/],
    ['a non-boolean async', JSON.stringify({ parameters: { async: 'yes' }, ...image(['aGk=']) }), /parameters.async/],
    ['a negative timeout', JSON.stringify({ parameters: { timeout: -1 }, ...image(['aGk=']) }), /parameters.timeout/],
    ['a numeric id', JSON.stringify({ id: 7, ...image(['aGk=']) }), /id must be a string/],
    ['an id over the limit', JSON.stringify({ id: 'x'.repeat(65), ...image(['aGk=']) }), /^id is 65 bytes, over the limit of 64 \(GATEWAY_MAX_STRING_BYTES\)$/],
    ['an id over the limit in UTF-8 bytes', JSON.stringify({ id: 'é'.repeat(33), ...image(['aGk=']) }), /id is 66 bytes.*GATEWAY_MAX_STRING_BYTES/],
    ['a stickiness key over the limit', JSON.stringify({ parameters: { stickiness_key: 'u'.repeat(100) }, ...image(['aGk=']) }), /parameters.stickiness_key is 100 bytes, over the limit of 64 \(GATEWAY_MAX_STRING_BYTES\)/],
    ['a uri over the limit', JSON.stringify({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: [`s3://images/${'k'.repeat(120)}`] }] }), /element 0 is 132 bytes, over the limit of 128 \(GATEWAY_MAX_URI_BYTES\)/],
  ])('answers 400 to %s', (_what, body, pattern) => {
    const parse = () => parseInferRequest(Buffer.from(body), Buffer.alloc(0), LIMITS);
    expect(status(parse)).toBe(400);
    expect(message(parse)).toMatch(pattern);
  });
});

describe('client strings', () => {
  it('keeps an id and a stickiness key at the limit', () => {
    const r = parseJson({ id: 'i'.repeat(64), parameters: { stickiness_key: 'k'.repeat(64) }, ...image([PNG.toString('base64')]) });
    expect([r.id?.length, r.stickinessKey?.length]).toEqual([64, 64]);
  });

  it('echoes no more than a few dozen characters of what it refuses', () => {
    const huge = 'n'.repeat(1_000_000);
    const cases = [
      { inputs: [{ name: huge, datatype: 'BYTES', shape: [1], data: ['aGk='] }] },
      { inputs: [{ name: 'image', datatype: huge, shape: [1], data: ['aGk='] }] },
      { ...image(['aGk=']), outputs: [{ name: huge }] },
      { id: huge, ...image(['aGk=']) },
    ];
    for (const body of cases) expect(message(() => parseJson(body)).length).toBeLessThan(400);
  });

  it('answers 400, not a stack overflow, to data or names nested 100,000 arrays deep', () => {
    const deep = `${'['.repeat(100_000)}"aGk="${']'.repeat(100_000)}`;
    const bodies = [
      `{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":${deep}}]}`,
      `{"inputs":[{"name":${deep},"datatype":"BYTES","shape":[1],"data":["aGk="]}]}`,
      `{"inputs":[{"name":"image","datatype":${deep},"shape":[1],"data":["aGk="]}]}`,
    ];
    for (const body of bodies) expect(status(() => parseInferRequest(Buffer.from(body), Buffer.alloc(0), LIMITS))).toBe(400);
  });
});

describe('uri inputs', () => {
  const uris = (...data: string[]) => ({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [data.length], data }] });
  const refused = (uri: string) => refusal(() => parseJson(uris(uri)));

  it('are taken inside the allow-list: a bucket (keys verbatim) or a host (after URL parsing)', () => {
    expect(parseJson(uris('s3://images/a/b.png', 'https://example.com/c.jpg', 'https://EXAMPLE.com:443/d.jpg')).input.kind).toBe('uri');
  });

  it.each([
    ['another bucket', 's3://secrets/a.png'],
    ['a bucket whose name starts the same', 's3://images-private/a.png'],
    ['another host', 'https://db.internal/a.png'],
    ['another port', 'https://example.com:8443/a.png'],
    ['a host behind credentials', 'https://example.com@10.0.3.7/a.png'],
    ['credentials before an allowed host', 'https://user:pw@example.com/a.png'],
  ])('answer 403 naming GATEWAY_URI_ALLOW for %s', (_what, uri) => {
    const err = refused(uri);
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/GATEWAY_URI_ALLOW: s3:\/\/images\/, https:\/\/example.com\//);
  });

  it('answer 403 to keys with "." or ".." segments, which could climb out of an allowed prefix', () => {
    const policy = { ...LIMITS, uri: { ...LIMITS.uri, allow: ['s3://images/uploads/', 'https://example.com/pub/'] } };
    const parse = (uri: string) => () => parseInferRequest(Buffer.from(JSON.stringify(uris(uri))), Buffer.alloc(0), policy);
    expect(parse('s3://images/uploads/a.png')().input.kind).toBe('uri');
    expect(status(parse('s3://images/uploads/../secret.png'))).toBe(403);
    expect(status(parse('s3://images/uploads/./a.png'))).toBe(403);
    expect(status(parse('s3://images/uploadsX/a.png'))).toBe(403);
    expect(status(parse('https://example.com/pub/../admin/a.png'))).toBe(403);
    expect(status(parse('https://example.com/pub/%2e%2e/admin/a.png'))).toBe(403);
  });
});

describe('inference request with binary tensor data (what tritonclient sends)', () => {
  it('reads raw image bytes after the JSON header', () => {
    const tensor = encodeBytesElements([PNG, JPEG]);
    const { json, binary } = binaryBody({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: tensor.length } }] }, tensor);
    const r = parseInferRequest(json, binary, LIMITS);
    expect(r.input).toEqual({ kind: 'image', images: [PNG, JPEG] });
  });

  it('reads URIs as binary BYTES too', () => {
    const tensor = encodeBytesElements(['s3://images/x.png']);
    const { json, binary } = binaryBody({ inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1, 1], parameters: { binary_data_size: tensor.length } }] }, tensor);
    expect(parseInferRequest(json, binary, LIMITS).input).toEqual({ kind: 'uri', uris: ['s3://images/x.png'] });
  });

  it('refuses a size that disagrees with the bytes sent, data next to binary, and bytes nobody declared', () => {
    const tensor = encodeBytesElements([PNG]);
    const wrongSize = binaryBody({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: tensor.length + 1 } }] }, tensor);
    expect(message(() => parseInferRequest(wrongSize.json, wrongSize.binary, LIMITS))).toMatch(/binary_data_size is \d+ but \d+ bytes follow/);
    const both = binaryBody({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: ['aGk='], parameters: { binary_data_size: tensor.length } }] }, tensor);
    expect(message(() => parseInferRequest(both.json, both.binary, LIMITS))).toMatch(/either data or parameters.binary_data_size/);
    const undeclared = binaryBody(image([PNG.toString('base64')]), tensor);
    expect(message(() => parseInferRequest(undeclared.json, undeclared.binary, LIMITS))).toMatch(/no input declares/);
  });

  it('refuses a header length longer than the body', () => {
    expect(status(() => splitBody(Buffer.from('{}'), '10'))).toBe(400);
    expect(status(() => splitBody(Buffer.from('{}'), 'two'))).toBe(400);
    expect(splitBody(Buffer.from('{}'), undefined).json.toString()).toBe('{}');
  });
});

describe('BYTES tensors in binary form', () => {
  it('round-trip elements of any length, empty included', () => {
    const elements = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 1)];
    const read = readBytesElements(encodeBytesElements(elements), 3, 'image');
    expect(read.map((b) => b.length)).toEqual([1, 0, 70_000]);
    expect(read.every((b, i) => b.equals(elements[i] as Buffer))).toBe(true);
  });

  it('refuse truncated data, overlong lengths and element counts that disagree with the shape', () => {
    const two = encodeBytesElements([PNG, JPEG]);
    expect(message(() => readBytesElements(two.subarray(0, 2), 1, 'image'))).toMatch(/truncated 4-byte length/);
    expect(message(() => readBytesElements(two.subarray(0, 10), 1, 'image'))).toMatch(/claims 16 bytes but 6 remain/);
    expect(message(() => readBytesElements(two, 1, 'image'))).toMatch(/2 elements where the shape asks for 1/);
  });
});
