import type { KafkaMessage } from 'kafkajs';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { FetchOutcome } from '../../../inference-consumers/fetch/fetch-image.ts';
import { processBatch, type BatchDeps, type BatchItem } from '../../../inference-consumers/service/process-batch.ts';
import { ResultCache } from '../../../inference-consumers/service/result-cache.ts';
import { TensorPool } from '../../../inference-consumers/service/tensor-pool.ts';
import type { LoadedModel } from '../../../models/loader/load-model.ts';
import { PipelineError, SystemicError } from '../../../platform/errors.ts';
import type { RoutedRequest } from '../../../router/routed-request.ts';
import { validManifest } from './fixtures.ts';

const manifest = validManifest(); // 28×28 grey, mean 0.5, std 0.5, 10 classes, version v1
const PIXELS = 28 * 28;

/** The class the fake model gives an image: read from the first input value of its slot, so each slot answers for itself. */
const classOfInput = (value: number): number => Math.round((value + 1) * 4.5);
/** The class of a solid grey image of level `grey`, as preprocessed by the manifest ((grey/255 - 0.5) / 0.5). */
const classOfGrey = (grey: number): number => classOfInput((grey / 255 - 0.5) / 0.5);

type Run = (feeds: Record<string, ort.Tensor>) => Promise<Record<string, ort.Tensor>>;

/** A session whose logits put each slot's class first; `run` is a spy the tests can replace. */
function fakeSession() {
  const run = vi.fn<Run>(async (feeds) => {
    const input = feeds[manifest.input.name] as ort.Tensor;
    const count = input.dims[0] as number;
    const data = input.data as Float32Array;
    const logits = new Float32Array(count * 10);
    for (let slot = 0; slot < count; slot++) logits[slot * 10 + classOfInput(data[slot * PIXELS] as number)] = 10;
    return { [manifest.output.name]: new ort.Tensor('float32', logits, [count, 10]) };
  });
  return { session: { run } as unknown as ort.InferenceSession, run };
}

const model = (session: ort.InferenceSession): LoadedModel => ({ manifest, session, provider: 'cpu', sha256: 'a'.repeat(64), uri: 'models/v1' });

function item(n: number, o: Partial<RoutedRequest> = {}): BatchItem {
  const message = { key: null, value: null, offset: String(n), timestamp: '0', attributes: 0, headers: {} } as KafkaMessage;
  const request: RoutedRequest = {
    request_id: `req-${n}`, uri: `s3://images/${n}.png`, submitted_at: 1, stickiness_key: null, pinned_version: null, source: null, metadata: {},
    model_version: 'v1', experiment_id: null, rule_id: null, shadow: false, routed_at: 2, ...o,
  };
  return { message, request };
}

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

let greyPng: (grey: number) => Promise<Buffer>;
beforeAll(() => {
  greyPng = (grey) => sharp({ create: { width: 28, height: 28, channels: 3, background: { r: grey, g: grey, b: grey } } }).png().toBuffer();
});

function deps(overrides: Partial<BatchDeps> & Pick<BatchDeps, 'fetch'>): BatchDeps & { progressed: BatchItem[]; tensors: TensorPool } {
  const progressed: BatchItem[] = [];
  return {
    model: model(fakeSession().session),
    signal: new AbortController().signal,
    progress: (i) => progressed.push(i),
    tensors: new TensorPool(8),
    limits: { maxPixels: 1_000_000 },
    fetchConcurrency: 4,
    topK: 3,
    consumerId: 'c-1',
    progressed,
    ...overrides,
  } as BatchDeps & { progressed: BatchItem[]; tensors: TensorPool };
}

const greys = [0, 50, 100, 150, 200];

describe('processBatch', () => {
  it('predicts every good record from its own slot, even when fetches finish out of order', async () => {
    const items = greys.map((_, n) => item(n));
    const pending = items.map(() => deferred<FetchOutcome>());
    const fetch = vi.fn((uri: string) => pending[Number(/(\d+)\.png$/.exec(uri)?.[1])]!.promise);
    const { session, run } = fakeSession();
    const d = deps({ fetch, model: model(session), fetchConcurrency: 5 });
    const result = processBatch(items, d);
    // The last image arrives first: it takes slot 0.
    for (let n = greys.length - 1; n >= 0; n--) {
      pending[n]!.resolve({ ok: true, bytes: await greyPng(greys[n]!), attempts: 1 });
      await new Promise((r) => setTimeout(r, 5));
    }
    const { predictions, failed, inferred } = await result;
    expect(failed).toEqual([]);
    expect(inferred).toBe(5);
    expect(run).toHaveBeenCalledTimes(1);
    expect(predictions.map((p) => [p.item.request.request_id, p.prediction.predicted_index])).toEqual(
      expect.arrayContaining(greys.map((g, n) => [`req-${n}`, classOfGrey(g)])),
    );
    expect(new Set(greys.map(classOfGrey)).size).toBe(5);
    expect(predictions[0]?.prediction).toMatchObject({ model_name: 'test-model', model_version: 'v1', batch_size: 5, consumer_id: 'c-1' });
  });

  it('calls progress once per record, whatever became of it', async () => {
    const notFound = new PipelineError('fetch', 'NotFound', 'no such object');
    const items = [item(0), item(1, { model_version: 'v9' }), item(2), item(3)];
    const fetch = vi.fn(async (uri: string): Promise<FetchOutcome> => {
      if (uri.endsWith('/2.png')) return { ok: false, error: notFound, attempts: 3 };
      if (uri.endsWith('/3.png')) return { ok: true, bytes: Buffer.from('not an image'), attempts: 1 };
      return { ok: true, bytes: await greyPng(100), attempts: 1 };
    });
    const d = deps({ fetch });
    const { predictions, failed } = await processBatch(items, d);
    expect(d.progressed.map((i) => i.request.request_id).sort()).toEqual(['req-0', 'req-1', 'req-2', 'req-3']);
    expect(predictions.map((p) => p.item.request.request_id)).toEqual(['req-0']);
    const byId = Object.fromEntries(failed.map((f) => [f.item.request.request_id, [f.error.stage, f.error.errorClass, f.attempts]]));
    expect(byId).toEqual({ 'req-1': ['inference', 'UnknownVersion', 1], 'req-2': ['fetch', 'NotFound', 3], 'req-3': ['preprocess', 'NotAnImage', 1] });
    // The record routed to another version was never fetched.
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('awaits the checkpoint before each fetch and before the model call, and does no record\'s work while it waits', async () => {
    const events: string[] = [];
    let open = deferred<void>();
    const checkpoint = vi.fn(() => {
      events.push('checkpoint');
      return open.promise;
    });
    const fetch = vi.fn(async (): Promise<FetchOutcome> => {
      events.push('fetch');
      return { ok: true, bytes: await greyPng(100), attempts: 1 };
    });
    const { session, run } = fakeSession();
    const result = processBatch([item(0), item(1), item(2)], deps({ fetch, model: model(session), fetchConcurrency: 1, checkpoint }));
    await new Promise((r) => setTimeout(r, 20));
    // Held at the first checkpoint: nothing fetched yet.
    expect(events).toEqual(['checkpoint']);
    open.resolve();
    open = { promise: Promise.resolve(), resolve: () => undefined } as typeof open;
    const { predictions } = await result;
    expect(predictions).toHaveLength(3);
    expect(checkpoint).toHaveBeenCalledTimes(4);
    expect(events).toEqual(['checkpoint', 'fetch', 'checkpoint', 'fetch', 'checkpoint', 'fetch', 'checkpoint']);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('dead-letters an expired record as inference/Expired without fetching it, serving the others', async () => {
    const now = Date.now();
    const items = [
      item(0, { deadline: now - 1 }),
      item(1, { deadline: now + 60_000 }),
      item(2, { submitted_at: now - 120_000 }),
      item(3, { submitted_at: now }),
    ];
    const fetch = vi.fn(async (): Promise<FetchOutcome> => ({ ok: true, bytes: await greyPng(100), attempts: 1 }));
    const d = deps({ fetch, maxAgeMs: 60_000 });
    const { predictions, failed } = await processBatch(items, d);
    expect(predictions.map((p) => p.item.request.request_id).sort()).toEqual(['req-1', 'req-3']);
    expect(failed.map((f) => [f.item.request.request_id, f.error.stage, f.error.errorClass, f.attempts]).sort())
      .toEqual([['req-0', 'inference', 'Expired', 1], ['req-2', 'inference', 'Expired', 1]]);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(d.progressed).toHaveLength(4);
  });

  it('dead-letters instead of predicting a record whose deadline passed while its batch was processed', async () => {
    const now = Date.now();
    const items = [item(0, { deadline: now + 30 }), item(1, { deadline: now + 60_000 })];
    const fetch = vi.fn(async (): Promise<FetchOutcome> => {
      await new Promise((r) => setTimeout(r, 60));
      return { ok: true, bytes: await greyPng(100), attempts: 1 };
    });
    const { predictions, failed } = await processBatch(items, deps({ fetch }));
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(predictions.map((p) => p.item.request.request_id)).toEqual(['req-1']);
    expect(failed.map((f) => [f.item.request.request_id, f.error.errorClass])).toEqual([['req-0', 'Expired']]);
    expect(failed[0]?.error.message).toMatch(/during its batch/);
  });

  it('answers repeated image bytes from the result cache without a decode or model call, equal to the computed answer', async () => {
    const { session, run } = fakeSession();
    const cache = new ResultCache({ maxEntries: 100, maxBytes: 1_000_000 });
    const bytes: Record<string, Buffer> = { a: await greyPng(50), b: await greyPng(200) };
    const fetch = vi.fn(async (uri: string): Promise<FetchOutcome> => ({ ok: true, bytes: bytes[uri.slice(-5, -4)] as Buffer, attempts: 1 }));
    const d = deps({ model: model(session), fetch, cache });
    const first = await processBatch([item(0, { uri: 's3://images/a.png' })], d);
    const second = await processBatch([item(1, { uri: 's3://images/a.png' }), item(2, { uri: 's3://images/b.png' })], d);
    expect([first.cache, second.cache]).toEqual([{ hits: 0, misses: 1 }, { hits: 1, misses: 1 }]);
    expect(run).toHaveBeenCalledTimes(2);
    const byId = Object.fromEntries([...first.predictions, ...second.predictions].map((p) => [p.item.request.request_id, p.prediction]));
    expect(byId['req-0']?.cached).toBe(false);
    expect(byId['req-1']).toMatchObject({ cached: true, batch_size: 0, top_k: byId['req-0']?.top_k, input_stats: byId['req-0']?.input_stats });
    expect(byId['req-1']?.timings).toMatchObject({ preprocess_ms: 0, inference_ms: 0 });
    expect(byId['req-2']).toMatchObject({ cached: false, predicted_index: classOfGrey(200) });
    expect(fetch).toHaveBeenCalledTimes(3);
    // Another model file under the same version meets none of these answers.
    const reloaded = await processBatch([item(3, { uri: 's3://images/a.png' })], { ...d, model: { ...model(session), sha256: 'b'.repeat(64) } });
    expect([reloaded.cache, reloaded.predictions[0]?.prediction.cached]).toEqual([{ hits: 0, misses: 1 }, false]);
  });

  it('decodes and infers identical bytes once per chunk, the others taking its answer or its failure', async () => {
    const { session, run } = fakeSession();
    const bytes: Record<string, Buffer> = { a: await greyPng(50), b: await greyPng(200), x: Buffer.from('not an image') };
    const fetch = vi.fn(async (uri: string): Promise<FetchOutcome> => ({ ok: true, bytes: bytes[uri.slice(-5, -4)] as Buffer, attempts: 1 }));
    const d = deps({ model: model(session), fetch, cache: new ResultCache({ maxEntries: 100, maxBytes: 1_000_000 }) });
    const uris = ['a', 'a', 'b', 'x', 'x', 'a'].map((k) => `s3://images/${k}.png`);
    const result = await processBatch(uris.map((uri, n) => item(n, { uri })), d);
    expect(run).toHaveBeenCalledTimes(1);
    // Slots for a, b and the first x (whose decode failed): 3 of 6 records.
    expect(run.mock.calls[0]?.[0][manifest.input.name]?.dims[0]).toBe(3);
    expect(result.cache).toEqual({ hits: 2, misses: 3 });
    const byId = Object.fromEntries(result.predictions.map((p) => [p.item.request.request_id, p.prediction]));
    const leader = [byId['req-0'], byId['req-1'], byId['req-5']].find((p) => p?.cached === false);
    expect([byId['req-0'], byId['req-1'], byId['req-5']].filter((p) => p?.cached === true)).toHaveLength(2);
    for (const id of ['req-0', 'req-1', 'req-5']) expect(byId[id]).toMatchObject({ predicted_index: classOfGrey(50), top_k: leader?.top_k, input_stats: leader?.input_stats });
    expect(byId['req-2']).toMatchObject({ cached: false, predicted_index: classOfGrey(200) });
    expect(result.failed.map((f) => [f.item.request.request_id, f.error.errorClass]).sort()).toEqual([['req-3', 'NotAnImage'], ['req-4', 'NotAnImage']]);
  });

  it('does not call the model when no record is left', async () => {
    const { session, run } = fakeSession();
    const d = deps({ model: model(session), fetch: async () => ({ ok: false, error: new PipelineError('fetch', 'NotFound', 'gone'), attempts: 1 }) });
    const result = await processBatch([item(0), item(1)], d);
    expect(result.predictions).toEqual([]);
    expect(result.failed).toHaveLength(2);
    expect(run).not.toHaveBeenCalled();
  });

  it('rejects with a SystemicError when the object store is to blame, releasing the tensor only after the fetches in flight settle', async () => {
    const items = [item(0), item(1), item(2), item(3)];
    const slow = [deferred<FetchOutcome>(), deferred<FetchOutcome>()];
    const storeDown = new PipelineError('fetch', 'ConnectionError', 'connection to the object store failed', true, { infrastructure: 'object-store' });
    const fetch = vi.fn((uri: string): Promise<FetchOutcome> => {
      if (uri.endsWith('/0.png')) return Promise.resolve({ ok: false, error: storeDown, attempts: 4 });
      return slow[Number(/(\d+)\.png$/.exec(uri)?.[1]) - 1]!.promise;
    });
    const { session, run } = fakeSession();
    const d = deps({ fetch, model: model(session), fetchConcurrency: 3 });
    const release = vi.spyOn(d.tensors, 'release');
    const acquire = vi.spyOn(d.tensors, 'acquire');
    let outcome: unknown;
    const done = processBatch(items, d).then(() => 'resolved', (err: unknown) => { outcome = err; });

    await new Promise((r) => setTimeout(r, 20));
    expect(outcome).toBeUndefined();
    expect(release).not.toHaveBeenCalled();
    slow[0]!.resolve({ ok: true, bytes: await greyPng(10), attempts: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(outcome).toBeUndefined();
    expect(release).not.toHaveBeenCalled();
    slow[1]!.resolve({ ok: true, bytes: await greyPng(20), attempts: 1 });
    await done;

    expect(outcome).toBeInstanceOf(SystemicError);
    expect(outcome).toMatchObject({ component: 'object-store' });
    expect((outcome as Error).cause).toBe(storeDown);
    expect(release).toHaveBeenCalledTimes(1);
    expect(release.mock.calls[0]?.[0]).toBe(acquire.mock.results[0]?.value);
    // After the failure no new fetch starts, and the model is not called.
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(run).not.toHaveBeenCalled();
  });

  it('turns a failing model call into a SystemicError of the model, not dead letters', async () => {
    const { session, run } = fakeSession();
    run.mockRejectedValue(new Error('CUDA error: an illegal memory access was encountered'));
    const d = deps({ model: model(session), fetch: async () => ({ ok: true, bytes: await greyPng(100), attempts: 1 }) });
    const release = vi.spyOn(d.tensors, 'release');
    const error = await processBatch([item(0), item(1)], d).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SystemicError);
    expect(error).toMatchObject({ component: 'model' });
    expect((error as Error).message).toMatch(/model test-model v1 failed on a batch of 2: .*illegal memory access/);
    expect(release).toHaveBeenCalledTimes(1);
    expect(d.progressed).toHaveLength(2);
  });

  it('turns a model output of the wrong shape into a SystemicError of the model', async () => {
    const { session, run } = fakeSession();
    run.mockResolvedValue({ [manifest.output.name]: new ort.Tensor('float32', new Float32Array(3), [1, 3]) });
    const d = deps({ model: model(session), fetch: async () => ({ ok: true, bytes: await greyPng(100), attempts: 1 }) });
    await expect(processBatch([item(0)], d)).rejects.toMatchObject({ name: 'SystemicError', component: 'model' });
  });

  it('reuses one tensor across batches', async () => {
    const d = deps({ fetch: async () => ({ ok: true, bytes: await greyPng(100), attempts: 1 }) });
    const acquire = vi.spyOn(d.tensors, 'acquire');
    await processBatch([item(0)], d);
    await processBatch([item(1)], d);
    expect(acquire.mock.results[1]?.value).toBe(acquire.mock.results[0]?.value);
  });
});
