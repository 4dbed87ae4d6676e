import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchImage, fetchWithRetry, type FetchPolicy } from '../../../inference-consumers/fetch/fetch-image.ts';
import type { Resolver } from '../../../inference-consumers/fetch/http-fetch.ts';
import { classifyS3Error } from '../../../platform/s3-errors.ts';

const IMAGE = Buffer.from('pretend-png-bytes');
let server: http.Server;
let base: string;
let port: number;
let flaky = 0;
const served: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    served.push(req.url ?? '');
    switch (req.url) {
      case '/img.png':
        res.end(IMAGE);
        return;
      case '/endless':
        // No content-length: the limit has to stop the stream itself.
        res.write(Buffer.alloc(64 * 1024));
        res.write(Buffer.alloc(64 * 1024));
        return;
      case '/declared-large':
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
        res.write(Buffer.alloc(10));
        return;
      case '/slow':
        return; // never answers
      case '/redirect-ok':
        res.writeHead(302, { location: '/img.png' }).end();
        return;
      case '/redirect-metadata':
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return;
      case '/redirect-file':
        res.writeHead(301, { location: 'file:///etc/passwd' }).end();
        return;
      case '/flaky':
        flaky++;
        if (flaky % 2 === 1) res.writeHead(503).end();
        else res.end(IMAGE);
        return;
      case '/forbidden':
        res.writeHead(403).end();
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const policy = (overrides: Partial<FetchPolicy> = {}): FetchPolicy => ({
  maxBytes: 100 * 1024,
  timeoutMs: 2000,
  allowedHosts: ['127.0.0.1'],
  allowedFileRoots: [],
  syncFileReads: true,
  maxRedirects: 2,
  ...overrides,
});

const fails = (promise: Promise<unknown>, errorClass: string, transient = false, message?: RegExp) =>
  expect(promise).rejects.toMatchObject({ stage: 'fetch', errorClass, transient, ...(message ? { message: expect.stringMatching(message) } : {}) });

describe('http(s) fetch', () => {
  it('fetches from an allow-listed loopback host', async () => {
    expect(await fetchImage(`${base}/img.png`, policy())).toEqual(IMAGE);
  });

  it('refuses loopback when the allow-list is empty, without sending a request', async () => {
    const before = served.length;
    await fails(fetchImage(`${base}/img.png`, policy({ allowedHosts: [] })), 'ForbiddenUri', false, /private or loopback/);
    expect(served.length).toBe(before);
  });

  it('checks the address a name resolves to, not the name', async () => {
    await fails(fetchImage(`http://localhost:${port}/img.png`, policy({ allowedHosts: [] })), 'ForbiddenUri', false, /localhost \((127\.0\.0\.1|::1)\)/);
    const toMetadata: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    await fails(
      fetchImage(`http://images.example.test:${port}/img.png`, policy({ allowedHosts: ['images.example.test'] }), { resolver: toMetadata }),
      'ForbiddenUri',
      false,
      /link-local and metadata/,
    );
    const oneBadAnswer: Resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    await fails(fetchImage(`http://mixed.example.test/img.png`, policy({ allowedHosts: [] }), { resolver: oneBadAnswer }), 'ForbiddenUri');
  });

  it('connects to the checked address', async () => {
    const toLoopback: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const bytes = await fetchImage(`http://images.example.test:${port}/img.png`, policy({ allowedHosts: ['images.example.test'] }), { resolver: toLoopback });
    expect(bytes).toEqual(IMAGE);
  });

  it('follows redirects only to targets that pass the policy, up to the limit', async () => {
    expect(await fetchImage(`${base}/redirect-ok`, policy())).toEqual(IMAGE);
    await fails(fetchImage(`${base}/redirect-metadata`, policy()), 'ForbiddenUri', false, /link-local and metadata/);
    await fails(fetchImage(`${base}/redirect-file`, policy()), 'ForbiddenUri', false, /only http and https/);
    await fails(fetchImage(`${base}/redirect-ok`, policy({ maxRedirects: 0 })), 'ForbiddenUri', false, /at most 0 redirect/);
  });

  it('stops a body that passes the byte limit', async () => {
    await fails(fetchImage(`${base}/endless`, policy({ maxBytes: 100_000 })), 'TooLarge', false, /over the 100000-byte limit/);
    await fails(fetchImage(`${base}/declared-large`, policy()), 'TooLarge', false, /is 10485760 bytes/);
  });

  it('times out as a transient failure', async () => {
    await fails(fetchImage(`${base}/slow`, policy({ timeoutMs: 150 })), 'Timeout', true);
  });

  it('maps statuses: 404 NotFound, 403 AccessDenied, 503 Throttled (transient)', async () => {
    await fails(fetchImage(`${base}/missing.png`, policy()), 'NotFound');
    await fails(fetchImage(`${base}/forbidden`, policy()), 'AccessDenied');
    await fails(fetchImage(`${base}/flaky`, policy()), 'Throttled', true);
  });

  it('keeps query strings (possible signatures) out of error messages', async () => {
    const failure = fetchImage(`${base}/missing.png?X-Amz-Signature=secret`, policy());
    await expect(failure).rejects.toThrow(/missing\.png answered HTTP 404/);
    await expect(failure).rejects.not.toThrow(/secret/);
  });

  it('refuses a connection failure as transient', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await fails(fetchImage(`http://127.0.0.1:${closedPort}/x.png`, policy()), 'ConnectionError', true, /ECONNREFUSED/);
  });
});

describe('fetchWithRetry', () => {
  it('retries transient failures and reports the attempts', async () => {
    flaky = 0;
    const retries: string[] = [];
    const outcome = await fetchWithRetry(`${base}/flaky`, policy(), { attempts: 3, baseMs: 1, capMs: 5 }, {}, (err) => retries.push(err.errorClass));
    expect(outcome).toEqual({ ok: true, bytes: IMAGE, attempts: 2 });
    expect(retries).toEqual(['Throttled']);
  });

  it('returns a permanent failure after one attempt', async () => {
    const outcome = await fetchWithRetry(`${base}/missing.png`, policy(), { attempts: 3, baseMs: 1, capMs: 5 });
    expect(outcome).toMatchObject({ ok: false, attempts: 1, error: { errorClass: 'NotFound' } });
  });
});

describe.each([true, false])('file fetch (synchronous reads: %s)', (syncFileReads) => {
  let dir: string;
  let root: string;
  let fileUri: (p: string) => string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fetch-file-'));
    root = path.join(dir, 'images');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await writeFile(path.join(root, 'sub', 'a.png'), IMAGE);
    await writeFile(path.join(dir, 'secret.txt'), 'outside');
    await writeFile(path.join(root, 'big.png'), Buffer.alloc(2048));
    await symlink(path.join(dir, 'secret.txt'), path.join(root, 'escape.png'));
    await symlink(root, path.join(dir, 'linked-root'));
    fileUri = (p) => pathToFileURL(p).href;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file under an allowed root', async () => {
    expect(await fetchImage(fileUri(path.join(root, 'sub', 'a.png')), policy({ syncFileReads, allowedFileRoots: [root] }))).toEqual(IMAGE);
  });

  it('resolves a symlinked root', async () => {
    expect(await fetchImage(fileUri(path.join(root, 'sub', 'a.png')), policy({ syncFileReads, allowedFileRoots: [path.join(dir, 'linked-root')] }))).toEqual(IMAGE);
  });

  it('refuses escapes through .. and through symlinks', async () => {
    await fails(fetchImage(`file://${root}/sub/../../secret.txt`, policy({ syncFileReads, allowedFileRoots: [root] })), 'ForbiddenUri', false, /outside the allowed file roots/);
    await fails(fetchImage(fileUri(path.join(root, 'escape.png')), policy({ syncFileReads, allowedFileRoots: [root] })), 'ForbiddenUri');
  });

  it('refuses file:// when no roots are configured', async () => {
    await fails(fetchImage(fileUri(path.join(root, 'sub', 'a.png')), policy({ syncFileReads })), 'ForbiddenUri', false, /file:\/\/ images are disabled/);
  });

  it('reports missing files, directories and files over the byte limit', async () => {
    await fails(fetchImage(fileUri(path.join(root, 'nope.png')), policy({ syncFileReads, allowedFileRoots: [root] })), 'NotFound');
    await fails(fetchImage(fileUri(path.join(root, 'sub')), policy({ syncFileReads, allowedFileRoots: [root] })), 'NotFound', false, /not a regular file/);
    await fails(fetchImage(fileUri(path.join(root, 'big.png')), policy({ syncFileReads, allowedFileRoots: [root], maxBytes: 1000 })), 'TooLarge', false, /2048 bytes/);
  });
});

describe('s3 fetch', () => {
  const s3Error = (name: string, status?: number, code?: string) =>
    Object.assign(new Error(`${name} happened`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...(code ? { code } : {}) });
  const clientThrowing = (err: unknown) => ({ send: vi.fn(async () => Promise.reject(err)) }) as unknown as S3Client;

  it.each([
    [s3Error('NoSuchKey', 404), 'NotFound', false],
    [s3Error('AccessDenied', 403), 'AccessDenied', false],
    [s3Error('SlowDown', 503), 'Throttled', true],
    [s3Error('ServiceUnavailable', 503), 'Throttled', true],
    [s3Error('Unknown', 429), 'Throttled', true],
    [s3Error('Error', undefined, 'ECONNRESET'), 'ConnectionError', true],
    [s3Error('TimeoutError'), 'Timeout', true],
    [s3Error('InternalError', 500), 'ConnectionError', true],
  ])('maps %s', async (err, errorClass, transient) => {
    await fails(fetchImage('s3://bucket/images/a.png', policy(), { s3: clientThrowing(err) }), errorClass, transient);
    expect(classifyS3Error(err, 'inference', 'x')).toMatchObject({ stage: 'inference', errorClass });
  });

  it('reads the object body and asks for the right bucket and key', async () => {
    const send = vi.fn(async () => ({ Body: Readable.from([IMAGE]), ContentLength: IMAGE.length }));
    const bytes = await fetchImage('s3://bucket/images/a b.png', policy(), { s3: { send } as unknown as S3Client });
    expect(bytes).toEqual(IMAGE);
    expect(send.mock.calls[0]).toMatchObject([{ input: { Bucket: 'bucket', Key: 'images/a b.png' } }, { abortSignal: expect.any(AbortSignal) }]);
  });

  it('refuses objects over the byte limit by declared length and while streaming', async () => {
    const declared = { send: async () => ({ Body: Readable.from([IMAGE]), ContentLength: 10_000_000 }) } as unknown as S3Client;
    await fails(fetchImage('s3://b/k.png', policy(), { s3: declared }), 'TooLarge');
    const streamed = { send: async () => ({ Body: Readable.from([Buffer.alloc(600), Buffer.alloc(600)]) }) } as unknown as S3Client;
    await fails(fetchImage('s3://b/k.png', policy({ maxBytes: 1000 }), { s3: streamed }), 'TooLarge');
  });

  it('refuses prefixes and a missing client', async () => {
    await fails(fetchImage('s3://bucket/images/', policy(), { s3: clientThrowing(new Error()) }), 'UnsupportedUri', false, /names a prefix/);
    await fails(fetchImage('s3://bucket/a.png', policy()), 'UnsupportedUri', false, /no S3 client/);
  });
});
