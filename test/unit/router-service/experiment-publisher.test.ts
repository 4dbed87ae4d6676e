import { describe, expect, it } from 'vitest';
import { checkExperiment, tableFor } from '../../../router/experiment-publisher.ts';
import { ModelTables } from '../../../router/model-tables.ts';
import { createLogger } from '../../../platform/logger.ts';

describe('tableFor', () => {
  it('keeps the default model on the router\'s key and puts any other model under its own name', () => {
    expect(tableFor(undefined, 'default', 'fashion-mnist')).toEqual({ key: 'default', model: null });
    expect(tableFor('fashion-mnist', 'default', 'fashion-mnist')).toEqual({ key: 'default', model: null });
    expect(tableFor('text-orientation', 'default', 'fashion-mnist')).toEqual({ key: 'text-orientation', model: 'text-orientation' });
  });

  it('publishes what the router takes as that model\'s table', () => {
    const tables = new ModelTables({ tableKey: 'default', defaultModel: 'fashion-mnist', fallbackVersion: 'v1', logger: createLogger('test', 'silent') });
    const table = tableFor('text-orientation', 'default', 'fashion-mnist');
    const config = checkExperiment({ id: 'e', versions: ['v1'], default_version: 'v1', rules: [], model: table.model });
    expect(tables.target(table.key, config)).toEqual({ kind: 'model', model: 'text-orientation' });
    const fallback = tableFor(undefined, 'default', 'fashion-mnist');
    expect(tables.target(fallback.key, checkExperiment({ id: 'e', versions: ['v1'], default_version: 'v1', rules: [] }))).toEqual({ kind: 'default' });
  });
});
