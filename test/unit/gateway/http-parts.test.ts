import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { gzipSync, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { HttpError } from '../../../gateway/http/http-error.ts';
import { checkContentType, readBody } from '../../../gateway/http/request-body.ts';
import { matchRoute } from '../../../gateway/http/routes.ts';
import { imageType } from '../../../gateway/protocol/image-type.ts';
import { refusal } from './fixtures.ts';

async function rejection(p: Promise<unknown>): Promise<HttpError> {
  return p.then(() => { throw new Error('expected a refusal'); }, (err: unknown) => err as HttpError);
}

function request(body: Buffer, headers: Record<string, string> = {}): IncomingMessage {
  const stream = Readable.from([body.subarray(0, body.length >> 1), body.subarray(body.length >> 1)]) as unknown as IncomingMessage;
  stream.headers = headers;
  return stream;
}

describe('routes', () => {
  it('match the v2 paths, with and without a version, percent-decoded', () => {
    expect(matchRoute('GET', '/v2/health/live')).toMatchObject({ name: 'live', open: true });
    expect(matchRoute('GET', '/v2/health/ready')).toMatchObject({ name: 'ready', open: true });
    expect(matchRoute('GET', '/v2')).toMatchObject({ name: 'server', open: false });
    expect(matchRoute('GET', '/v2/models/fashion-mnist')).toMatchObject({ name: 'model', model: 'fashion-mnist', version: null });
    expect(matchRoute('GET', '/v2/models/fashion%2Dmnist/versions/v2')).toMatchObject({ name: 'model', model: 'fashion-mnist', version: 'v2' });
    expect(matchRoute('GET', '/v2/models/m/versions/v1/ready')).toMatchObject({ name: 'modelReady', model: 'm', version: 'v1' });
    expect(matchRoute('POST', '/v2/models/m/infer?x=1')).toMatchObject({ name: 'infer', model: 'm', version: null, template: '/v2/models/{name}[/versions/{version}]/infer' });
    expect(matchRoute('POST', '/v2/models/m/versions/v2/infer')).toMatchObject({ name: 'infer', version: 'v2' });
    expect(matchRoute('GET', '/v2/results/abc')).toMatchObject({ name: 'result', id: 'abc', model: '' });
    expect(matchRoute('GET', '/v2/openapi.json')).toMatchObject({ name: 'openapi', open: true, template: '/v2/openapi.json' });
  });

  it('answer 404 to unknown paths and 405 with Allow to the wrong method', () => {
    expect(refusal(() => matchRoute('GET', '/v1/models/m:predict')).status).toBe(404);
    const wrong = refusal(() => matchRoute('GET', '/v2/models/m/infer'));
    expect([wrong.status, wrong.headers.allow]).toEqual([405, 'POST']);
    expect(refusal(() => matchRoute('POST', '/v2/models/%E0%A4%A/infer')).status).toBe(400);
  });
});

describe('request body', () => {
  it('accepts JSON, octet-stream and no content type (tritonclient sends none); 415 for anything else', () => {
    for (const t of [undefined, 'application/json', 'application/json; charset=utf-8', 'Application/Octet-Stream']) expect(() => checkContentType(t)).not.toThrow();
    for (const t of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'image/png']) {
      expect(refusal(() => checkContentType(t)).status).toBe(415);
    }
  });

  it('reads a body within the limit, plain, gzip or deflate', async () => {
    const body = Buffer.from('{"inputs":[]}');
    expect(await readBody(request(body), 100)).toEqual(body);
    expect(await readBody(request(gzipSync(body), { 'content-encoding': 'gzip' }), 100)).toEqual(body);
    expect(await readBody(request(deflateSync(body), { 'content-encoding': 'deflate' }), 100)).toEqual(body);
  });

  it('answers 413 to a declared or streamed body over the limit, and to one that inflates past it', async () => {
    const big = Buffer.alloc(5_000, 65);
    expect((await rejection(readBody(request(big, { 'content-length': '5000' }), 4_096))).status).toBe(413);
    expect((await rejection(readBody(request(big), 4_096))).status).toBe(413);
    const bomb = await rejection(readBody(request(gzipSync(Buffer.alloc(100_000)), { 'content-encoding': 'gzip' }), 4_096));
    expect([bomb.status, bomb.headers.connection]).toEqual([413, 'close']);
  });

  it('answers 415 to an unknown encoding and 400 to a body that does not decompress', async () => {
    expect((await rejection(readBody(request(Buffer.from('x'), { 'content-encoding': 'br' }), 100))).status).toBe(415);
    expect((await rejection(readBody(request(Buffer.from('not gzip'), { 'content-encoding': 'gzip' }), 100))).status).toBe(400);
  });
});

describe('image type from the first bytes', () => {
  const pixels = { create: { width: 4, height: 4, channels: 3 as const, background: '#808080' } };

  it.each([
    ['image/png', () => sharp(pixels).png().toBuffer()],
    ['image/jpeg', () => sharp(pixels).jpeg().toBuffer()],
    ['image/webp', () => sharp(pixels).webp().toBuffer()],
    ['image/gif', () => sharp(pixels).gif().toBuffer()],
    ['image/tiff', () => sharp(pixels).tiff().toBuffer()],
    ['image/avif', () => sharp(pixels).avif().toBuffer()],
  ])('knows %s as sharp writes it', async (type, encode) => {
    expect(imageType(await encode())).toBe(type);
  });

  it('knows nothing else', () => {
    for (const b of [Buffer.from('this is not an image'), Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), Buffer.alloc(0), Buffer.from([0x89, 0x50])]) {
      expect(imageType(b)).toBeUndefined();
    }
  });
});
