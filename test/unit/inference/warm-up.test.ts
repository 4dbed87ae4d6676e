import { readFileSync } from 'node:fs';
import type { InferenceSession } from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readInferenceSettings } from '../../../inference-consumers/service/settings.ts';
import { warmUp } from '../../../inference-consumers/service/warm-up.ts';
import { ConfigError, EnvReader } from '../../../platform/config.ts';
import { loadModel, type LoadedModel } from '../../../models/loader/load-model.ts';
import { createSession, defaultSessionConfig } from '../../../models/runtime/session.ts';
import { silentLogger, validManifest } from './fixtures.ts';

/** The dims of every tensor the session was called with. */
function recordRuns(session: InferenceSession): number[][] {
  const dims: number[][] = [];
  const run = session.run.bind(session);
  vi.spyOn(session, 'run').mockImplementation(((feeds: InferenceSession.FeedsType, ...rest: unknown[]) => {
    for (const tensor of Object.values(feeds)) dims.push([...tensor.dims]);
    return (run as (...args: unknown[]) => ReturnType<InferenceSession['run']>)(feeds, ...rest);
  }) as InferenceSession['run']);
  return dims;
}

describe('warmUp', () => {
  const loaded: LoadedModel[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(loaded.splice(0).map((m) => m.session.release()));
  });

  it('runs blank batches at the maximum batch size through the real session', async () => {
    const model = await loadModel('models/fashion-mnist/v1', { session: defaultSessionConfig, logger: silentLogger });
    loaded.push(model);
    const dims = recordRuns(model.session);
    const seconds = await warmUp(model, 32, 3);
    expect(dims).toEqual([[32, 1, 28, 28], [32, 1, 28, 28], [32, 1, 28, 28]]);
    expect(seconds).toBeGreaterThan(0);
  });

  it('runs a fixed-batch model in calls of its own size', async () => {
    const bytes = readFileSync(new URL('./fixtures/onnx/fixed-batch-two-outputs.onnx', import.meta.url));
    const { session } = await createSession(bytes, defaultSessionConfig, silentLogger);
    const base = validManifest();
    const manifest = validManifest({
      input: { ...base.input, name: 'pixels', shape: [1, 3, 2, 2], channels: 3, width: 2, height: 2, mean: [0, 0, 0], std: [1, 1, 1] },
      output: { name: 'logits', kind: 'sigmoid', num_classes: 4 },
      labels: ['a', 'b', 'c', 'd'],
    });
    loaded.push({ session, manifest, provider: 'cpu', sha256: '', uri: '' });
    const dims = recordRuns(session);
    await warmUp({ session, manifest }, 3);
    expect(dims).toEqual([[1, 3, 2, 2], [1, 3, 2, 2], [1, 3, 2, 2]]);
  });
});

describe('WARMUP_BATCHES', () => {
  const read = (env: Record<string, string>) => {
    const reader = new EnvReader(env);
    const settings = readInferenceSettings(reader);
    reader.done();
    return settings;
  };

  it('defaults to 3 calls, takes 0 to turn warm-up off, and refuses anything else by name', () => {
    expect(read({}).warmupBatches).toBe(3);
    expect(read({ WARMUP_BATCHES: '0' }).warmupBatches).toBe(0);
    expect(() => read({ WARMUP_BATCHES: '-1' })).toThrow(ConfigError);
    expect(() => read({ WARMUP_BATCHES: 'many' })).toThrow(/WARMUP_BATCHES/);
  });
});
