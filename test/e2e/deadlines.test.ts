/**
 * Deadlines and the result cache on the real pipeline (issue 17), in both delivery modes. With only the router
 * running, requests already past their deadline are dead-lettered route/Expired; requests routed in time but
 * left waiting for a stopped consumer past their deadline are dead-lettered inference/Expired once it starts,
 * without being predicted. With RESULT_CACHE=on, the same image bytes sent again (same URI or a copy under
 * another name) are answered from the cache, marked cached, equal to the computed answers. Every request ends
 * exactly once, as a prediction or a dead letter; the metrics count the same.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { DeadLetter } from '../../platform/dead-letter.ts';
import { newImageRequest, type ImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../stack/pipeline-services.ts';

const DATA_DIR = join(REPO_ROOT, 'data', 'samples');
const harnesses: PipelineHarness[] = [];

afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

/** The sum of a counter's series whose labels include every one of `labels`. */
async function counter(p: RunningProcess, name: string, labels: string[]): Promise<number> {
  const text = await (await fetch(`${p.opsUrl}/metrics`)).text();
  return text.split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe.each(['exactly-once', 'at-least-once'] as const)('deadlines and the result cache (%s)', (delivery) => {
  it('dead-letters expired requests once at the router or the consumer, answers repeated bytes from the cache, loses nothing', async () => {
    const h = new PipelineHarness();
    harnesses.push(h);
    await h.connect();
    const set = await writeSamples(join(DATA_DIR, 'e2e-lossless'), 'lossless', 20);
    const uri = (file: string): string => pathToFileURL(file).href;
    const files = set.samples.map((s) => join(set.dir, s.file));
    const copies = join(DATA_DIR, `e2e-deadline-copies-${h.prefix}`);
    await mkdir(copies, { recursive: true });
    await Promise.all(files.map((f, i) => copyFile(f, join(copies, `copy-${i}.png`))));

    const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
    const deadLetters = await h.collect<DeadLetter>(h.clients.topics.dlq);
    await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
    const env = { DELIVERY: delivery };
    const router = await h.start('router', 'router', env);

    const now = Date.now();
    const past = files.slice(0, 10).map((f, i) => newImageRequest(uri(f), { requestId: `past-${i}`, deadline: now - 1_000 }));
    // Long enough to be routed in time on a loaded machine; the consumer starts only after it.
    const waitingDeadline = now + 8_000;
    const waiting = files.map((f, i) => newImageRequest(uri(f), { requestId: `waiting-${i}`, deadline: waitingDeadline }));
    const fresh = files.map((f, i) => newImageRequest(uri(f), { requestId: `fresh-${i}` }));
    await h.publish([...past, ...waiting, ...fresh]);
    const routeExpired = () => deadLetters.items.filter((d) => d.value.stage === 'route' && d.value.error_class === 'Expired');
    await deadLetters.waitFor(() => routeExpired().length >= past.length, 60_000, () => `${routeExpired().length} route/Expired dead letters`);
    await sleep(Math.max(0, waitingDeadline - Date.now() + 500));

    const consumer = await h.start('inference-v1', 'inference', { ...env, MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: DATA_DIR, RESULT_CACHE: 'on' });
    const inferenceExpired = () => deadLetters.items.filter((d) => d.value.stage === 'inference' && d.value.error_class === 'Expired');
    await deadLetters.waitFor(() => inferenceExpired().length >= waiting.length, 120_000, () => `${inferenceExpired().length} inference/Expired dead letters`);
    await predictions.waitFor((items) => items.length >= fresh.length, 120_000);

    // The same bytes again: half by the same URIs, half by copies under other names.
    const repeats: ImageRequest[] = files.map((f, i) => newImageRequest(i % 2 === 0 ? uri(f) : uri(join(copies, `copy-${i}.png`)), { requestId: `repeat-${i}` }));
    await h.publish(repeats);
    await predictions.waitFor((items) => items.length >= fresh.length + repeats.length, 120_000);
    // Late duplicates would show up here.
    await sleep(3_000);

    const byId = new Map<string, Prediction[]>();
    for (const p of predictions.items) byId.set(p.value.request_id, [...(byId.get(p.value.request_id) ?? []), p.value]);
    const dead = new Map<string, DeadLetter[]>();
    for (const d of deadLetters.items) dead.set(d.value.request_id ?? '', [...(dead.get(d.value.request_id ?? '') ?? []), d.value]);
    // Every request ends exactly once, as one prediction or one dead letter.
    for (const r of [...past, ...waiting, ...fresh, ...repeats]) {
      expect((byId.get(r.request_id)?.length ?? 0) + (dead.get(r.request_id)?.length ?? 0), r.request_id).toBe(1);
    }
    for (const r of past) expect(dead.get(r.request_id)?.[0]).toMatchObject({ stage: 'route', error_class: 'Expired', service: 'router' });
    for (const r of waiting) expect(dead.get(r.request_id)?.[0]).toMatchObject({ stage: 'inference', error_class: 'Expired', model_version: 'v1' });
    for (const r of fresh) expect(byId.get(r.request_id)?.[0]?.cached).toBe(false);
    files.forEach((_, i) => {
      const computed = byId.get(`fresh-${i}`)?.[0] as Prediction;
      const cached = byId.get(`repeat-${i}`)?.[0] as Prediction;
      expect(cached).toMatchObject({ cached: true, batch_size: 0, predicted_index: computed.predicted_index, predicted_label: computed.predicted_label, input_stats: computed.input_stats });
      expect(cached.top_k).toEqual(computed.top_k);
    });

    expect(await counter(router, 'router_dead_letters_total', ['stage="route"', 'error_class="Expired"'])).toBe(past.length);
    expect(await counter(consumer, 'inference_dead_letters_total', ['stage="inference"', 'error_class="Expired"'])).toBe(waiting.length);
    expect(await counter(consumer, 'inference_result_cache_lookups_total', ['result="hit"'])).toBe(repeats.length);
    expect(await counter(consumer, 'inference_result_cache_lookups_total', ['result="miss"'])).toBe(fresh.length);
    expect(await counter(consumer, 'inference_predictions_total', [])).toBe(fresh.length + repeats.length);
  }, 400_000);
});
