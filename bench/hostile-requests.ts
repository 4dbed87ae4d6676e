/**
 * Pure: the requests of a hostile client, each one of the ways one valid token can try to make the gateway
 * hold memory or fail: an `id` of megabytes, asynchronous requests it never collects, bodies over the size
 * limit (declared, streamed without a length, or a gzip bomb), and malformed bodies, among them JSON nested
 * deeper than a recursive walk survives.
 */
import { gzipSync } from 'node:zlib';

export type HostileKind =
  | 'big-id'
  | 'async-uncollected'
  | 'oversized-declared'
  | 'oversized-streamed'
  | 'gzip-bomb'
  | 'malformed-json'
  | 'wrong-shape'
  | 'deeply-nested';

/** Weighted like the attack: half of the traffic is large ids, the rest spread over the other kinds. */
export const HOSTILE_CYCLE: readonly HostileKind[] = [
  'big-id', 'async-uncollected', 'big-id', 'oversized-streamed', 'big-id', 'malformed-json',
  'big-id', 'async-uncollected', 'big-id', 'gzip-bomb', 'big-id', 'oversized-declared',
  'big-id', 'deeply-nested', 'big-id', 'wrong-shape',
];

export interface HostileRequest {
  kind: HostileKind;
  headers: Record<string, string>;
  /** A buffer, or for `oversized-streamed` the number of bytes to stream without a Content-Length. */
  body: Buffer | { streamBytes: number };
}

export interface HostileShapes {
  /** A URI the consumers can fetch (an uploaded sample): the cheapest request that is tracked. */
  uri: string;
  idBytes: number;
  maxBodyBytes: number;
  /** Nesting depth of the deeply nested body. */
  depth: number;
}

const uriRequest = (id: string, uri: string): object => ({
  id,
  parameters: { async: true },
  inputs: [{ name: 'uri', datatype: 'BYTES', shape: [1], data: [uri] }],
});

/** Builds each kind's body once (the big ones are megabytes); `request(kind, n)` then costs nothing. */
export function hostileRequests(s: HostileShapes): (kind: HostileKind, n: number) => HostileRequest {
  const json = { 'content-type': 'application/json' };
  const bigId = Buffer.from(JSON.stringify(uriRequest('x'.repeat(s.idBytes), s.uri)));
  const oversized = Buffer.alloc(s.maxBodyBytes + 1, 0x20);
  const bomb = gzipSync(Buffer.alloc(s.maxBodyBytes + 1024 * 1024, 0x20));
  const nested = `${'['.repeat(s.depth)}"aGk="${']'.repeat(s.depth)}`;
  const deeplyNested = Buffer.from(`{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":${nested}}]}`);
  const wrongShape = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [17], data: ['aGk='] }] }));
  return (kind, n) => {
    switch (kind) {
      case 'big-id': return { kind, headers: json, body: bigId };
      case 'async-uncollected': return { kind, headers: json, body: Buffer.from(JSON.stringify(uriRequest(`never-collected-${n}`, s.uri))) };
      case 'oversized-declared': return { kind, headers: json, body: oversized };
      case 'oversized-streamed': return { kind, headers: json, body: { streamBytes: s.maxBodyBytes + 1 } };
      case 'gzip-bomb': return { kind, headers: { ...json, 'content-encoding': 'gzip' }, body: bomb };
      case 'malformed-json': return { kind, headers: json, body: Buffer.from(`{"inputs": [{"name": "image", ${n}`) };
      case 'wrong-shape': return { kind, headers: json, body: wrongShape };
      case 'deeply-nested': return { kind, headers: json, body: deeplyNested };
    }
  };
}
