/**
 * A graceful stop commits what was processed: after SIGTERM to the router and an inference consumer, Kafka's own
 * `kafka-consumer-groups --describe` shows no lag on either group, in both delivery modes. Under exactly-once the
 * inference group's input carries the router's transaction markers, which its committed offsets must pass too.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { newImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { describeGroup } from '../../stack/kafka/kafka-tools.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';

const COUNT = 300;
const harnesses: PipelineHarness[] = [];

afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

describe.each(['exactly-once', 'at-least-once'] as const)('graceful stop (%s)', (delivery) => {
  it('leaves no lag on the router and inference groups for processed records', async () => {
    const h = new PipelineHarness();
    harnesses.push(h);
    await h.connect();
    const dataDir = join(REPO_ROOT, 'data', 'samples');
    const set = await writeSamples(join(dataDir, 'e2e-lossless'), 'lossless', 100);
    const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
    await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
    const env = { DELIVERY: delivery };
    const router = await h.start('router', 'router', env);
    const consumer = await h.start('inference-v1', 'inference', { ...env, MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: dataDir });

    await h.publish(Array.from({ length: COUNT }, (_, i) =>
      newImageRequest(pathToFileURL(join(set.dir, set.samples[i % set.samples.length]?.file as string)).href, { source: 'graceful-stop' })));
    await predictions.waitFor((items) => items.length >= COUNT, 120_000);
    expect(await router.stop()).toBe(0);
    expect(await consumer.stop()).toBe(0);

    const broker = process.env.KAFKA_BROKERS as string;
    const groups = { router: `${h.prefix}.router`, inference: `${h.prefix}.inference-v1` };
    const rows = [...await describeGroup(broker, groups.router), ...await describeGroup(broker, groups.inference)];
    process.stdout.write(`${JSON.stringify({ test: 'graceful-stop', delivery, groups: rows.map((r) => `${r.group} ${r.topic}/${r.partition} ${r.currentOffset}/${r.logEndOffset} lag ${r.lag}`) })}\n`);
    expect(new Set(rows.map((r) => r.group))).toEqual(new Set(Object.values(groups)));
    expect(rows.filter((r) => r.group === groups.inference)).toHaveLength(4);
    for (const row of rows) {
      // A partition that never had a record shows no committed offset; every other one is committed to its end.
      if (row.logEndOffset > 0) expect(row, `${row.group} ${row.topic}/${row.partition}`).toMatchObject({ currentOffset: row.logEndOffset, lag: 0 });
    }
    expect(new Set(predictions.items.map((p) => p.value.request_id)).size).toBe(COUNT);
  }, 300_000);
});
