import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HOSTILE_CYCLE, hostileRequests, type HostileKind } from '../../../bench/hostile-requests.ts';

const MAX_BODY = 64 * 1024;
const request = hostileRequests({ uri: 's3://images/samples/0.png', idBytes: 100_000, maxBodyBytes: MAX_BODY, depth: 1_000 });
const body = (kind: HostileKind, n = 0): Buffer => request(kind, n).body as Buffer;

describe('hostile requests', () => {
  it('send half large ids and every other kind in each cycle', () => {
    expect(HOSTILE_CYCLE.filter((k) => k === 'big-id')).toHaveLength(HOSTILE_CYCLE.length / 2);
    const kinds: HostileKind[] = ['big-id', 'async-uncollected', 'oversized-declared', 'oversized-streamed', 'gzip-bomb', 'malformed-json', 'wrong-shape', 'deeply-nested'];
    expect(new Set(HOSTILE_CYCLE)).toEqual(new Set(kinds));
  });

  it('are what they claim: an asynchronous uri request with an id of the size asked, bodies over the limit, a bomb that expands past it', () => {
    const big = JSON.parse(body('big-id').toString());
    expect([big.id.length, big.parameters.async, big.inputs[0].data]).toEqual([100_000, true, ['s3://images/samples/0.png']]);
    expect(JSON.parse(body('async-uncollected', 7).toString())).toMatchObject({ id: 'never-collected-7', parameters: { async: true } });
    expect(body('oversized-declared').length).toBe(MAX_BODY + 1);
    expect(request('oversized-streamed', 0).body).toEqual({ streamBytes: MAX_BODY + 1 });
    const bomb = body('gzip-bomb');
    expect([request('gzip-bomb', 0).headers['content-encoding'], bomb.length < MAX_BODY, gunzipSync(bomb).length > MAX_BODY]).toEqual(['gzip', true, true]);
  });

  it('include malformed bodies: cut-off JSON, too many images, data nested as deep as asked', () => {
    expect(() => JSON.parse(body('malformed-json').toString())).toThrow(SyntaxError);
    expect(JSON.parse(body('wrong-shape').toString()).inputs[0].shape).toEqual([17]);
    let data: unknown = JSON.parse(body('deeply-nested').toString()).inputs[0].data;
    let depth = 0;
    while (Array.isArray(data)) [data, depth] = [data[0], depth + 1];
    expect([depth, data]).toEqual([1_000, 'aGk=']);
  });
});
