import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/logger.ts';
import { laneOfTopic, topicNames } from '../../../platform/topics.ts';
import { newImageRequest } from '../../../producers/image-request.ts';
import { validateExperimentConfig } from '../../../router/experiment/index.ts';
import { requestLane } from '../../../router/lanes.ts';
import { ModelTables } from '../../../router/model-tables.ts';
import { routeRecord } from '../../../router/route-records.ts';

const logger = createLogger('test', 'silent');
const message = (headers: Record<string, string> = {}) => ({ key: null, value: null, offset: '0', timestamp: '0', attributes: 0, headers });

function tables(experiment: unknown, down: (label: string) => boolean = () => false): ModelTables {
  const t = new ModelTables({ tableKey: 'default', defaultModel: 'fashion-mnist', fallbackVersion: 'v1', logger, labelDown: down });
  expect(t.apply({ kind: 'default' }, experiment)).toMatchObject({ applied: true });
  return t;
}

const experiment = {
  id: 'lanes', versions: ['v1', 'v2'], default_version: 'v1', updated_at: 1,
  rules: [
    { id: 'moderation', match: [{ field: 'source', op: 'eq', values: ['moderation'] }], priority: 'high' },
    { id: 'bulk', match: [{ field: 'source', op: 'eq', values: ['rescoring'] }], priority: 'normal', shadow: ['v2'] },
    { id: 'rest', split: [{ version: 'v2', weight: 1 }], fallback: 'v1', shadow: ['v1'] },
  ],
};

const route = (t: ModelTables, o: Parameters<typeof newImageRequest>[1]) => {
  const out = routeRecord(t, newImageRequest('file:///a.png', o), message(), 1);
  if (!out.ok) throw out.error;
  return out.outputs.map((x) => ({ version: x.version, lane: x.lane, priority: x.value.priority, shadow: x.value.shadow }));
};

describe('priority lanes in routing', () => {
  it('sends a request asking for the high lane to it, and one asking for nothing or normal to the normal lane', () => {
    const t = tables(experiment);
    expect(route(t, { priority: 'high' })[0]).toEqual({ version: 'v2', lane: 'high', priority: 'high', shadow: false });
    expect(route(t, {})[0]).toMatchObject({ lane: 'normal', priority: 'normal' });
    expect(route(t, { priority: 'normal' })[0]).toMatchObject({ lane: 'normal' });
  });

  it('lets a rule raise or lower the lane whatever the request asks for', () => {
    const t = tables(experiment);
    expect(route(t, { source: 'moderation' })[0]).toMatchObject({ lane: 'high' });
    expect(route(t, { source: 'rescoring', priority: 'high' })[0]).toMatchObject({ lane: 'normal', priority: 'normal' });
  });

  it('keeps shadow copies in the normal lane', () => {
    const t = tables(experiment);
    expect(route(t, { priority: 'high' })).toEqual([
      { version: 'v2', lane: 'high', priority: 'high', shadow: false },
      { version: 'v1', lane: 'normal', priority: 'normal', shadow: true },
    ]);
  });

  it('keeps the lane when a rule falls back from a version that is down', () => {
    const t = tables(experiment, (label) => label === 'v2');
    expect(route(t, { priority: 'high' })[0]).toMatchObject({ version: 'v1', lane: 'high' });
  });

  it('dead-letters a priority that is no lane as route/InvalidRequest', () => {
    const out = routeRecord(tables(experiment), { ...newImageRequest('file:///a.png'), priority: 'urgent' }, message(), 1);
    expect(out.ok).toBe(false);
    expect(!out.ok && out.error).toMatchObject({ stage: 'route', errorClass: 'InvalidRequest' });
    expect(requestLane(undefined, undefined)).toEqual({ ok: true, lane: 'normal' });
  });

  it('names each version\'s high lane topic after its normal topic, for every model', () => {
    const topics = topicNames('images');
    expect(topics.requestsFor('v1', null, 'high')).toBe('images.requests.v1.high');
    expect(topics.requestsFor('v1', 'text-orientation', 'high')).toBe('images.requests.text-orientation.v1.high');
    expect(topics.requestsFor('v1', null, 'normal')).toBe('images.requests.v1');
    expect(laneOfTopic('images.requests.v1.high')).toBe('high');
    expect(laneOfTopic('images.requests.v1')).toBe('normal');
  });

  it('validates a rule\'s priority and refuses versions whose topic would be another version\'s high lane', () => {
    const errors = (config: unknown): string[] => {
      const result = validateExperimentConfig(config);
      return result.ok ? [] : result.errors;
    };
    expect(errors({ ...experiment, rules: [{ id: 'r', priority: 'urgent' }] })).toEqual([
      'rules[0].priority: unknown lane "urgent"; expected normal or high, or null for each request\'s own priority',
    ]);
    expect(errors({ ...experiment, versions: ['v1', 'v1.high'], rules: [] })[0]).toMatch(/versions\[1\]: must not end in "\.high"/);
    const ok = validateExperimentConfig(experiment);
    expect(ok.ok && ok.config.rules.map((r) => r.priority ?? null)).toEqual(['high', 'normal', null]);
  });
});
