/**
 * Priority lanes on the real pipeline (issue 17), in both delivery modes. A backlog of normal requests is routed
 * while no consumer runs; the consumer starts, and once it is working through the backlog, high-priority
 * requests arrive (asked for by the request, or raised by the experiment's rule), some of them for images that do
 * not exist. The high requests go through the version's high lane and are answered while the backlog is still
 * being served; the missing images are dead-lettered from the high lane; every request ends exactly once, as a
 * prediction or a dead letter, and the lag metrics show each lane's topic.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { DeadLetter } from '../../platform/dead-letter.ts';
import { newImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../stack/pipeline-services.ts';

const DATA_DIR = join(REPO_ROOT, 'data', 'samples');
const BACKLOG = 3_000;
const HIGH = 20;
const harnesses: PipelineHarness[] = [];

afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

async function metricLines(p: RunningProcess, name: string): Promise<string[]> {
  const text = await (await fetch(`${p.opsUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

const sum = (lines: string[]): number => lines.reduce((s, l) => s + Number(l.split(' ').pop()), 0);

describe.each(['exactly-once', 'at-least-once'] as const)('priority lanes (%s)', (delivery) => {
  it('serves high-priority requests ahead of a routed backlog, dead-letters in both lanes, loses nothing', async () => {
    const h = new PipelineHarness();
    harnesses.push(h);
    await h.connect();
    const set = await writeSamples(join(DATA_DIR, 'e2e-lossless'), 'lossless', 20);
    const uris = set.samples.map((s) => pathToFileURL(join(set.dir, s.file)).href);
    const missing = (i: number): string => pathToFileURL(join(DATA_DIR, `no-such-image-${h.prefix}-${i}.png`)).href;

    const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
    const deadLetters = await h.collect<DeadLetter>(h.clients.topics.dlq);
    await h.setExperiment({
      id: 'lanes', versions: ['v1'], default_version: 'v1',
      rules: [{ id: 'moderation', match: [{ field: 'source', op: 'eq', values: ['moderation'] }], priority: 'high' }],
    });
    const env = { DELIVERY: delivery };
    const router = await h.start('router', 'router', env);

    // The backlog waits in the version's normal topic: routed, with no consumer yet. A few are for missing images.
    const backlog = Array.from({ length: BACKLOG }, (_, i) => newImageRequest(i % 500 === 7 ? missing(i) : uris[i % uris.length] as string, { requestId: `normal-${i}` }));
    await h.publish(backlog);
    const routed = async (): Promise<number> => sum(await metricLines(router, 'router_routed_total'));
    const until = Date.now() + 120_000;
    while (await routed() < BACKLOG && Date.now() < until) await sleep(200);
    expect(await routed()).toBe(BACKLOG);

    const consumer = await h.start('inference-v1', 'inference', { ...env, MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: DATA_DIR, LAG_INTERVAL_MS: '500' });
    // Under exactly-once predictions show only once a transaction of up to 64 chunks commits, by when much of the
    // backlog may be done: the high requests come once the consumer has joined and is working on it.
    await sleep(500);
    // High requests: half ask for it, half are raised by the rule; two are for missing images.
    const high = Array.from({ length: HIGH }, (_, i) => newImageRequest(i < 2 ? missing(10_000 + i) : uris[i % uris.length] as string, {
      requestId: `high-${i}`, ...(i % 2 === 0 ? { priority: 'high' as const } : { source: 'moderation' }),
    }));
    await h.publish(high);

    const ended = (): number => predictions.items.length + deadLetters.items.length;
    await predictions.waitFor(() => ended() >= BACKLOG + HIGH, 300_000, () => `${ended()} of ${BACKLOG + HIGH} requests ended`);
    // Late duplicates would show up here.
    await sleep(3_000);

    const ends = new Map<string, number>();
    for (const id of [...predictions.items.map((p) => p.value.request_id), ...deadLetters.items.map((d) => d.value.request_id ?? '')]) ends.set(id, (ends.get(id) ?? 0) + 1);
    for (const r of [...backlog, ...high]) expect(ends.get(r.request_id) ?? 0, r.request_id).toBe(1);

    // Dead letters come from both lanes' topics, with the stage and class of a missing image.
    const dead = new Map(deadLetters.items.map((d) => [d.value.request_id, d.value]));
    for (const r of high.slice(0, 2)) expect(dead.get(r.request_id)).toMatchObject({ original_topic: h.clients.topics.requestsFor('v1', null, 'high'), stage: 'fetch' });
    expect(dead.get('normal-7')).toMatchObject({ original_topic: h.clients.topics.requestsFor('v1'), stage: 'fetch' });

    // Overtaking: every high request was answered while backlog requests published before it still waited.
    const predictedAt = new Map(predictions.items.map((p) => [p.value.request_id, p.value.predicted_at]));
    const lastHigh = Math.max(...high.slice(2).map((r) => predictedAt.get(r.request_id) as number));
    const backlogAfter = backlog.filter((r) => (predictedAt.get(r.request_id) ?? 0) > lastHigh).length;
    console.log(JSON.stringify({ delivery, backlog: BACKLOG, high: HIGH, backlogPredictedAfterLastHigh: backlogAfter }));
    expect(backlogAfter).toBeGreaterThan(0);

    // Each lane's topic shows in the lag metric; the router's routed copies went to the high lane's topic.
    const lagTopics = new Set((await metricLines(consumer, 'kafka_consumer_lag_records')).map((l) => /topic="([^"]+)"/.exec(l)?.[1]));
    expect(lagTopics).toContain(h.clients.topics.requestsFor('v1', null, 'high'));
    expect(lagTopics).toContain(h.clients.topics.requestsFor('v1'));
    expect(sum(await metricLines(consumer, 'inference_predictions_total'))).toBe(BACKLOG + HIGH - backlog.filter((r) => r.uri.includes('no-such-image')).length - 2);
  }, 600_000);
});
