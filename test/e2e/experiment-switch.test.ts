/**
 * Hot reload: with traffic flowing, a new experiment on the compacted topic switches routing within seconds,
 * the router process is the same one, and an invalid experiment is refused while the active one stays.
 */
import { afterAll, expect, it } from 'vitest';
import { newImageRequest } from '../../producers/image-request.ts';
import type { RoutedRequest } from '../../router/routed-request.ts';
import { PipelineHarness } from '../../stack/pipeline-harness.ts';

const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
});

const only = (version: string) => ({ id: `all-${version}`, versions: ['v1', 'v2'], default_version: version, rules: [] });

it('switches routing within seconds without a restart, and keeps the old experiment when the new one is invalid', async () => {
  await h.connect();
  await h.setExperiment(only('v1'));
  const router = await h.start('router', 'router');
  const v1 = await h.collect<RoutedRequest>(h.clients.topics.requestsFor('v1'));
  const v2 = await h.collect<RoutedRequest>(h.clients.topics.requestsFor('v2'));

  let stop = false;
  const traffic = (async () => {
    while (!stop) {
      await h.publish(Array.from({ length: 10 }, () => newImageRequest('file:///nonexistent.png', { source: 'switch-test' })));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await v1.waitFor((items) => items.length >= 50, 60_000);
    const switchedAt = Date.now();
    await h.setExperiment(only('v2'));
    await v2.waitFor((items) => items.length > 0, 15_000);
    const firstOnV2 = v2.items[0]?.value.routed_at ?? Infinity;
    const switchSeconds = (firstOnV2 - switchedAt) / 1000;
    process.stdout.write(`${JSON.stringify({ test: 'experiment-switch', switch_seconds: switchSeconds })}\n`);
    expect(switchSeconds).toBeLessThan(10);
    expect(v2.items[0]?.value.experiment_id).toBe('all-v2');

    // After the switch settles, nothing more goes to v1.
    await new Promise((r) => setTimeout(r, 1_000));
    const v1Count = v1.items.length;
    await v2.waitFor((items) => items.length >= 100, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(v1.items.length).toBe(v1Count);

    // An invalid experiment (default not among versions), written past the CLI's validation: refused, v2 stays.
    const invalid = { ...only('v9'), versions: ['v1', 'v2'], default_version: 'v9', description: null, updated_at: Date.now(), updated_by: null };
    await h.clients.producer.send({
      topic: h.clients.topics.experiments,
      messages: [{ key: 'default', value: await h.clients.serde.encode(h.clients.topics.experiments, 'ExperimentConfig', invalid) }],
    });
    const before = v2.items.length;
    await v2.waitFor((items) => items.length >= before + 100, 30_000);
    expect(v2.items.slice(before).every((r) => r.value.experiment_id === 'all-v2')).toBe(true);
    const metrics = await (await fetch(`${router.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/router_experiment_updates_total\{[^}]*result="rejected"[^}]*\} 1/);
    expect(router.child.exitCode).toBeNull();
  } finally {
    stop = true;
    await traffic;
  }
}, 300_000);
