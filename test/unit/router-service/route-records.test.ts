import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/logger.ts';
import { newImageRequest } from '../../../producers/image-request.ts';
import { routeRecord } from '../../../router/route-records.ts';
import { RoutingTable } from '../../../router/routing-table.ts';

const logger = createLogger('test', 'silent');
const message = (headers: Record<string, string> = {}) => ({ key: null, value: null, offset: '0', timestamp: '0', attributes: 0, headers });
const experiment = {
  id: 'exp', versions: ['v1', 'v2'], default_version: 'v1', updated_at: 1,
  rules: [
    { id: 'beta', match: [{ field: 'header.x-beta', op: 'exists', values: [] }], split: [], shadow: ['v2'] },
    { id: 'ab', split: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }], sticky_by: 'stickiness_key', allow_pinned: true },
  ],
};

describe('RoutingTable', () => {
  it('routes to the fallback version until an experiment arrives', () => {
    const table = new RoutingTable('v7', logger);
    const out = routeRecord(table, newImageRequest('file:///a.png'), message(), 1);
    expect(out.ok && out.outputs.map((o) => [o.version, o.value.experiment_id])).toEqual([['v7', null]]);
  });

  it('keeps the previous experiment when an invalid one arrives, and returns to the fallback on a tombstone', () => {
    const table = new RoutingTable('v1', logger);
    expect(table.apply(experiment)).toMatchObject({ applied: true });
    const rejected = table.apply({ ...experiment, default_version: 'v3' });
    expect(rejected.applied).toBe(false);
    expect(table.experiment?.id).toBe('exp');
    table.apply(null);
    expect(table.experiment).toBeNull();
    expect(table.versions).toEqual(['v1']);
  });
});

describe('routeRecord', () => {
  const table = new RoutingTable('v1', logger);
  table.apply(experiment);

  it('produces the served copy and shadow copies with headers and routing fields', () => {
    const request = newImageRequest('s3://b/k.png', { stickinessKey: 'u1' });
    const out = routeRecord(table, request, message({ 'x-beta': '1', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }), 5);
    if (!out.ok) throw new Error('expected routing');
    expect(out.outputs.map((o) => [o.version, o.value.shadow])).toEqual([['v1', false], ['v2', true]]);
    const [served] = out.outputs;
    expect(served?.value).toMatchObject({ request_id: request.request_id, model_version: 'v1', experiment_id: 'exp', rule_id: 'beta', routed_at: 5 });
    expect(served?.headers).toMatchObject({ 'x-request-id': request.request_id, 'x-model-version': 'v1', 'x-shadow': 'false', 'x-experiment-id': 'exp' });
    expect(served?.headers.traceparent).toMatch(new RegExp(`^00-${'a'.repeat(32)}-`));
    expect(served?.key).toBe(request.request_id);
  });

  it('keys sticky routes by the stickiness key so one user stays in order', () => {
    const out = routeRecord(table, newImageRequest('s3://b/k.png', { stickinessKey: 'user-9' }), message(), 1);
    expect(out.ok && out.outputs[0]?.key).toBe('user-9');
  });

  it('turns an unknown pinned version into a route/UnknownVersion failure', () => {
    const out = routeRecord(table, newImageRequest('s3://b/k.png', { pinnedVersion: 'v9' }), message(), 1);
    expect(out.ok).toBe(false);
    if (!out.ok) expect({ stage: out.error.stage, errorClass: out.error.errorClass }).toEqual({ stage: 'route', errorClass: 'UnknownVersion' });
  });

  it('marks the served copy of a request routed around a down version as fallback, keeping the sticky key', () => {
    const canary = { ...experiment, rules: [{ id: 'ab', split: [{ version: 'v2', weight: 1 }], sticky_by: 'stickiness_key', shadow: ['v1'], fallback: 'v1' }] };
    const down = new Set<string>();
    const health = new RoutingTable('v1', logger, (v) => down.has(v));
    health.apply(canary);
    expect(health.versionsWithFallback).toEqual(['v1', 'v2']);
    const request = newImageRequest('s3://b/k.png', { stickinessKey: 'user-3' });
    const before = routeRecord(health, request, message(), 1);
    expect(before.ok && before.outputs.map((o) => [o.version, o.value.shadow, o.value.fallback])).toEqual([['v2', false, false], ['v1', true, false]]);
    down.add('v2');
    const after = routeRecord(health, request, message(), 2);
    expect(after.ok && after.outputs.map((o) => [o.version, o.value.shadow, o.value.fallback, o.key])).toEqual([['v1', false, true, 'user-3']]);
    expect(table.versionsWithFallback).toEqual([]);
  });
});
