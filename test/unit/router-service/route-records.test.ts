import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/logger.ts';
import { newImageRequest } from '../../../producers/image-request.ts';
import { routeRecord } from '../../../router/route-records.ts';
import { ModelTables } from '../../../router/model-tables.ts';
import { RoutingTable } from '../../../router/routing-table.ts';

const logger = createLogger('test', 'silent');
const message = (headers: Record<string, string> = {}) => ({ key: null, value: null, offset: '0', timestamp: '0', attributes: 0, headers });
/** A router holding only the default model's table. */
function tablesWith(fallbackVersion: string, down: (label: string) => boolean = () => false): ModelTables {
  return new ModelTables({ tableKey: 'default', defaultModel: 'fashion-mnist', fallbackVersion, logger, labelDown: down });
}

const experiment = {
  id: 'exp', versions: ['v1', 'v2'], default_version: 'v1', updated_at: 1,
  rules: [
    { id: 'beta', match: [{ field: 'header.x-beta', op: 'exists', values: [] }], split: [], shadow: ['v2'] },
    { id: 'ab', split: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }], sticky_by: 'stickiness_key', allow_pinned: true },
  ],
};

describe('RoutingTable', () => {
  it('routes to the fallback version until an experiment arrives', () => {
    const out = routeRecord(tablesWith('v7'), newImageRequest('file:///a.png'), message(), 1);
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
  const tables = tablesWith('v1');
  tables.apply({ kind: 'default' }, experiment);
  const table = tables.defaultTable;

  it('produces the served copy and shadow copies with headers and routing fields', () => {
    const request = newImageRequest('s3://b/k.png', { stickinessKey: 'u1' });
    const out = routeRecord(tables, request, message({ 'x-beta': '1', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }), 5);
    if (!out.ok) throw new Error('expected routing');
    expect(out.outputs.map((o) => [o.version, o.value.shadow])).toEqual([['v1', false], ['v2', true]]);
    const [served] = out.outputs;
    expect(served?.value).toMatchObject({ request_id: request.request_id, model_version: 'v1', experiment_id: 'exp', rule_id: 'beta', routed_at: 5 });
    expect(served?.headers).toMatchObject({ 'x-request-id': request.request_id, 'x-model-version': 'v1', 'x-shadow': 'false', 'x-experiment-id': 'exp' });
    expect(served?.headers.traceparent).toMatch(new RegExp(`^00-${'a'.repeat(32)}-`));
    expect(served?.key).toBe(request.request_id);
  });

  it('keys sticky routes by the stickiness key so one user stays in order', () => {
    const out = routeRecord(tables, newImageRequest('s3://b/k.png', { stickinessKey: 'user-9' }), message(), 1);
    expect(out.ok && out.outputs[0]?.key).toBe('user-9');
  });

  it('turns an unknown pinned version into a route/UnknownVersion failure', () => {
    const out = routeRecord(tables, newImageRequest('s3://b/k.png', { pinnedVersion: 'v9' }), message(), 1);
    expect(out.ok).toBe(false);
    if (!out.ok) expect({ stage: out.error.stage, errorClass: out.error.errorClass }).toEqual({ stage: 'route', errorClass: 'UnknownVersion' });
  });

  it('marks the served copy of a request routed around a down version as fallback, keeping the sticky key', () => {
    const canary = { ...experiment, rules: [{ id: 'ab', split: [{ version: 'v2', weight: 1 }], sticky_by: 'stickiness_key', shadow: ['v1'], fallback: 'v1' }] };
    const down = new Set<string>();
    const health = tablesWith('v1', (v) => down.has(v));
    health.apply({ kind: 'default' }, canary);
    expect(health.labelsWithFallback).toEqual(['v1', 'v2']);
    const request = newImageRequest('s3://b/k.png', { stickinessKey: 'user-3' });
    const before = routeRecord(health, request, message(), 1);
    expect(before.ok && before.outputs.map((o) => [o.version, o.value.shadow, o.value.fallback])).toEqual([['v2', false, false], ['v1', true, false]]);
    down.add('v2');
    const after = routeRecord(health, request, message(), 2);
    expect(after.ok && after.outputs.map((o) => [o.version, o.value.shadow, o.value.fallback, o.key])).toEqual([['v1', false, true, 'user-3']]);
    expect(table.versionsWithFallback).toEqual([]);
  });
});

describe('several models', () => {
  const textExperiment = { id: 'text-exp', model: 'text-orientation', versions: ['v1'], default_version: 'v1', updated_at: 1, rules: [] };

  it('routes a request naming a model by that model\'s table, and one naming none (or the default) by the default table', () => {
    const tables = tablesWith('v1');
    tables.apply({ kind: 'default' }, experiment);
    const target = tables.target('text-orientation', textExperiment);
    expect(target).toEqual({ kind: 'model', model: 'text-orientation' });
    expect(tables.apply(target as { kind: 'model'; model: string }, textExperiment)).toMatchObject({ applied: true });
    const text = routeRecord(tables, newImageRequest('s3://b/k.png', { model: 'text-orientation' }), message(), 1);
    expect(text.ok && text.outputs.map((o) => [o.model, o.version, o.value.experiment_id, o.value.model])).toEqual([['text-orientation', 'v1', 'text-exp', 'text-orientation']]);
    for (const model of [null, 'fashion-mnist']) {
      const out = routeRecord(tables, newImageRequest('s3://b/k.png', { model }), message({ 'x-beta': '1' }), 1);
      expect(out.ok && out.outputs.map((o) => [o.model, o.version, o.value.experiment_id])).toEqual([[null, 'v1', 'exp'], [null, 'v2', 'exp']]);
    }
    expect(tables.names).toEqual(['fashion-mnist', 'text-orientation']);
  });

  it('dead-letters a request for a model without a table as route/UnknownModel, naming the models it has', () => {
    const out = routeRecord(tablesWith('v1'), newImageRequest('s3://b/k.png', { model: 'resnet' }), message(), 1);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect({ stage: out.error.stage, errorClass: out.error.errorClass }).toEqual({ stage: 'route', errorClass: 'UnknownModel' });
    expect(out.error.message).toContain('models routed here: fashion-mnist');
    expect(out.error.message).toContain('--model resnet');
  });

  it('reads the experiments topic by key: its own table, model tables whose model field matches, nothing else', () => {
    const tables = tablesWith('v1');
    expect(tables.target('default', experiment)).toEqual({ kind: 'default' });
    expect(tables.target('other-router', experiment)).toEqual({ kind: 'ignore' });
    expect(tables.target('key with spaces', textExperiment)).toEqual({ kind: 'ignore' });
    expect(tables.target('resnet', textExperiment)).toMatchObject({ kind: 'reject', error: expect.stringContaining('keyed by its name') });
    expect(tables.target('default', textExperiment)).toMatchObject({ kind: 'reject', error: expect.stringContaining('--model text-orientation') });
    expect(tables.target('fashion-mnist', { ...textExperiment, model: 'fashion-mnist' })).toMatchObject({ kind: 'reject', error: expect.stringContaining('without --model') });
    expect(tables.target('text-orientation', null)).toEqual({ kind: 'ignore' });
    expect(tables.follows('text-orientation')).toBe(false);
  });

  it('takes a model out of service on a tombstone and keeps its table when an invalid update arrives', () => {
    const tables = tablesWith('v1');
    tables.apply({ kind: 'model', model: 'text-orientation' }, textExperiment);
    expect(tables.apply({ kind: 'model', model: 'text-orientation' }, { ...textExperiment, default_version: 'v9' }).applied).toBe(false);
    expect(tables.resolve('text-orientation')?.table.experiment?.id).toBe('text-exp');
    expect(tables.follows('text-orientation')).toBe(true);
    expect(tables.target('text-orientation', null)).toEqual({ kind: 'model', model: 'text-orientation' });
    tables.apply({ kind: 'model', model: 'text-orientation' }, null);
    expect(tables.resolve('text-orientation')).toBeUndefined();
  });

  it('watches health by serving label, so v1 of two models are two things', () => {
    const down = new Set(['text-orientation.v2']);
    const tables = tablesWith('v1', (label) => down.has(label));
    tables.apply({ kind: 'default' }, { ...experiment, rules: [{ id: 'all', split: [{ version: 'v2', weight: 1 }], fallback: 'v1' }] });
    const text = { ...textExperiment, versions: ['v1', 'v2'], rules: [{ id: 'all', split: [{ version: 'v2', weight: 1 }], fallback: 'v1' }] };
    tables.apply({ kind: 'model', model: 'text-orientation' }, text);
    expect(tables.labelsWithFallback).toEqual(['v1', 'v2', 'text-orientation.v1', 'text-orientation.v2']);
    const served = (model: string | null) => {
      const out = routeRecord(tables, newImageRequest('s3://b/k.png', { model }), message(), 1);
      return out.ok ? [out.outputs[0]?.version, out.outputs[0]?.value.fallback] : null;
    };
    expect(served(null)).toEqual(['v2', false]);
    expect(served('text-orientation')).toEqual(['v1', true]);
  });
});
