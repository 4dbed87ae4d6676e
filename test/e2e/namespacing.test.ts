/**
 * Two deployments on one cluster: with their own TOPIC_PREFIX their groups are their own and both consume their
 * own topics; forced onto one group id, a member that is assigned topics it did not subscribe to says so, fails
 * /healthz and exits non-zero (its supervisor restarts it), instead of reporting ready and consuming nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { newImageRequest } from '../../producers/image-request.ts';
import { writeSamples } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import type { RunningProcess } from '../../stack/pipeline-services.ts';

const a = new PipelineHarness();
const b = new PipelineHarness();

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

const dataDir = join(REPO_ROOT, 'data', 'samples');

/** Polls /healthz of each process until one of them exits; returns that one, its code and whether it was seen failing. */
async function firstToExit(processes: RunningProcess[], timeoutMs: number): Promise<{ p: RunningProcess; code: number | null; sawUnhealthy: boolean }> {
  const unhealthy = new Set<RunningProcess>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of processes) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return { p, code: p.child.exitCode, sawUnhealthy: unhealthy.has(p) };
      const status = await fetch(`${p.opsUrl}/healthz`).then((r) => r.status, () => 0);
      if (status === 503) unhealthy.add(p);
    }
    if (Date.now() > deadline) throw new Error(`no process exited within ${timeoutMs} ms; see ${processes.map((p) => p.logFile).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('keeps deployments with different prefixes apart, and stops a member of a shared group that gets foreign topics', async () => {
  const set = await writeSamples(join(dataDir, 'e2e-lossless'), 'lossless', 50);
  await Promise.all([a.connect(), b.connect()]);
  const env = { MODEL_VERSION: 'v1', FETCH_FILE_ROOTS: dataDir };
  const request = (i: number) => newImageRequest(pathToFileURL(join(set.dir, set.samples[i % set.samples.length]?.file as string)).href, { source: 'namespacing' });

  // Own prefixes: each consumer's default group is `<prefix>.inference-v1`; each predicts its own requests.
  for (const h of [a, b]) {
    await h.setExperiment({ id: 'all-v1', versions: ['v1'], default_version: 'v1', rules: [] });
    await h.start('router', 'router');
    await h.start('inference-v1', 'inference', env);
  }
  const [pa, pb] = await Promise.all([a.collect<Prediction>(a.clients.topics.predictions), b.collect<Prediction>(b.clients.topics.predictions)]);
  await a.publish(Array.from({ length: 40 }, (_, i) => request(i)));
  await b.publish(Array.from({ length: 40 }, (_, i) => request(i)));
  await Promise.all([pa.waitFor((items) => items.length >= 40, 120_000), pb.waitFor((items) => items.length >= 40, 120_000)]);

  // One group id forced on both: the second member is assigned the first one's topic too.
  const shared = { ...env, CONSUMER_GROUP_ID: `${a.prefix}-shared-group`, FATAL_EXIT_DELAY_MS: '1500' };
  const first = await a.start('inference-v1-shared', 'inference', shared);
  const second = await b.spawn('inference-v1-shared', 'inference', shared);
  const outcome = await firstToExit([first, second], 120_000);
  const log = await readFile(outcome.p.logFile, 'utf8');
  process.stdout.write(`${JSON.stringify({ test: 'namespacing', exited: outcome.p.name, code: outcome.code, saw_unhealthy: outcome.sawUnhealthy })}\n`);
  expect(outcome.code).toBe(1);
  expect(outcome.sawUnhealthy).toBe(true);
  const fatal = log.split('\n').filter((line) => line.includes('"level":60')).join('\n');
  expect(fatal).toContain(`${a.prefix}-shared-group`);
  expect(fatal).toContain('assigned this member topics it does not subscribe to');
}, 300_000);
