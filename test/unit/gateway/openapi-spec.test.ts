/**
 * gateway/openapi.json against the code it describes: every documented operation is a route of the gateway with
 * that method and every route is documented, every status the gateway's code answers is documented, every
 * reference resolves, and the limits in its schemas and description are the settings' defaults, so a changed
 * default cannot leave the document behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchRoute, type RouteName } from '../../../gateway/http/routes.ts';
import { readGatewaySettings } from '../../../gateway/settings.ts';
import { EnvReader } from '../../../platform/config.ts';
import { REPO_ROOT } from '../../../stack/pipeline-harness.ts';

type Json = Record<string, unknown>;
const doc = JSON.parse(readFileSync(join(REPO_ROOT, 'gateway', 'openapi.json'), 'utf8')) as Json & {
  info: { description: string };
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json & { properties: Record<string, Json> }> };
};
const schemas = doc.components.schemas;

function defaults() {
  const env = new EnvReader({ GATEWAY_TOKENS: 'alice:alice-token-0123456789' });
  const s = readGatewaySettings(env);
  env.done();
  return s;
}

function resolve(ref: string): unknown {
  return ref.replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
}

function refs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refs);
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]) => (k === '$ref' ? [v as string] : refs(v)));
}

describe('gateway/openapi.json', () => {
  it('documents exactly the routes the gateway serves, each with its method', () => {
    const documented = new Set<RouteName>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        const route = matchRoute(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
        documented.add(route.name);
        // Routes open without a token are the ones documented with no security.
        expect([path, route.open], path).toEqual([path, (operations[method] as { security?: unknown[] }).security?.length === 0]);
      }
    }
    const all: RouteName[] = ['live', 'ready', 'server', 'openapi', 'models', 'model', 'modelReady', 'infer', 'result', 'page'];
    expect([...documented].sort()).toEqual([...all].sort());
  });

  it('documents every status the gateway answers', () => {
    const gateway = join(REPO_ROOT, 'gateway');
    const sources = readdirSync(gateway, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(gateway, f), 'utf8'));
    // Thrown as errors, and the dead letters' statuses (dead-letter-status.ts returns them).
    const answered = new Set(sources.flatMap((src) => [...src.matchAll(/HttpError\((\d{3})|return (\d{3});/g)].map((m) => m[1] ?? m[2])));
    const documented = new Set(Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => Object.keys((op as { responses: Json }).responses))));
    expect(answered.size).toBeGreaterThan(10);
    expect([...answered].filter((code) => !documented.has(code as string)).sort()).toEqual([]);
  });

  it('resolves every reference', () => {
    const unresolved = refs(doc).filter((r) => resolve(r) === undefined);
    expect(unresolved).toEqual([]);
  });

  it('gives the settings\' default limits in its schemas', () => {
    const s = defaults();
    const image = schemas.ImageInput!.properties;
    const uri = schemas.UriInput!.properties;
    expect(schemas.InferenceRequest!.properties.id).toMatchObject({ maxLength: s.maxStringBytes });
    expect(schemas.KeptString).toMatchObject({ maxLength: s.maxStringBytes });
    expect(uri.data).toMatchObject({ maxItems: s.maxBatch, items: { maxLength: s.maxUriBytes } });
    expect(image.data).toMatchObject({ maxItems: s.maxBatch });
    expect(schemas.Shape).toMatchObject({ items: { maximum: s.maxBatch } });
  });

  it('names each limit with its setting and default in its description', () => {
    const s = defaults();
    const limits: [string, number][] = [
      ['GATEWAY_MAX_BODY_BYTES', s.maxBodyBytes],
      ['GATEWAY_MAX_BATCH', s.maxBatch],
      ['GATEWAY_MAX_STRING_BYTES', s.maxStringBytes],
      ['GATEWAY_MAX_URI_BYTES', s.maxUriBytes],
      ['GATEWAY_RATE_LIMIT', s.rate.perSecond],
      ['GATEWAY_RATE_BURST', s.rate.burst],
      ['GATEWAY_MAX_TRACKED_PER_CLIENT', s.maxTrackedPerClient],
      ['GATEWAY_MAX_IN_FLIGHT_PER_CLIENT', s.maxInFlightPerClient],
      ['GATEWAY_MAX_TRACKED', s.maxTracked],
      ['GATEWAY_TIMEOUT_MS', s.timeoutMs],
      ['GATEWAY_RESULT_TTL_SECONDS', s.resultTtlMs / 1000],
    ];
    for (const [name, value] of limits) expect(doc.info.description, name).toContain(`${name} ${value}`);
  });
});
