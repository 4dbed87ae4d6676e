/**
 * The demo: the whole pipeline on the local stack. Brings the stack up (installing it the first time), writes
 * and uploads sample images, starts the router, one consumer group per model version and the drift monitor,
 * runs a 50/50 sticky A/B test of v1 against v2, then a rollout of v2 by the rollout controller (printing each
 * decision as it is made), then streams darkened images until drift is detected.
 *   npm run demo                 (add -- --keep to leave the services and dashboard running until Ctrl-C)
 *   npm run demo -- --count 5000 --rate 150 --rollout-rate 40
 *   npm run demo -- --help
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Prediction } from '../inference-consumers/service/prediction.ts';
import type { ModelManifest } from '../models/manifest.ts';
import type { DeadLetter } from '../platform/dead-letter.ts';
import { parseCommandLine } from '../platform/cli-args.ts';
import { EnvReader } from '../platform/config.ts';
import { readKafkaSettings } from '../platform/kafka-config.ts';
import { ensureTopics } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { createProgressBar } from '../platform/progress-bar.ts';
import { traceId, TRACEPARENT } from '../platform/trace.ts';
import { newCommand, sendCommand } from '../rollouts/commands.ts';
import { formatDecision } from '../rollouts/format.ts';
import { fromDecisionRecord, type RolloutDecisionRecord } from '../rollouts/records.ts';
import { checkRolloutSpec } from '../rollouts/spec.ts';
import { rolloutTopics, rolloutTopicSpecs } from '../rollouts/topics.ts';
import { newImageRequest, type ImageRequest } from '../producers/image-request.ts';
import { Pacer } from '../producers/pacer.ts';
import { JAEGER_ENV } from '../stack/jaeger/jaeger-server.ts';
import { startLocalStack } from '../stack/local-stack.ts';
import { uploadSamples } from '../scripts/samples/upload-samples.ts';
import { writeSamples, type SampleSet } from '../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../stack/pipeline-harness.ts';
import type { TopicCollector } from '../stack/topic-collector.ts';
import { formatSummary, summarise } from './summary.ts';

const USAGE = `usage: npm run demo -- [--count N] [--rate PER_SECOND] [--rollout-rate PER_SECOND] [--rollout-timeout SECONDS]
                     [--drift-timeout SECONDS] [--keep]
The whole pipeline on the local stack (brought up first): an A/B test of v1 against v2 with --count requests at
--rate, a rollout of v2 by the rollout controller, then darkened images until drift is reported.
  --keep   leave the services and the dashboard running until Ctrl-C
examples:
  npm run demo
  npm run demo -- --count 5000 --rate 150 --rollout-rate 40 --keep`;

const { values } = parseCommandLine(USAGE, {
  options: {
    count: { type: 'string', default: '3000' },
    // Offered load: about what two consumers sustain on a 2-core laptop next to Kafka, so latencies are not queueing.
    rate: { type: 'string', default: '80' },
    keep: { type: 'boolean', default: false },
    'drift-timeout': { type: 'string', default: '180' },
    // A shadow step doubles the work per request: half the A/B rate keeps the rollout's latencies honest.
    'rollout-rate': { type: 'string', default: '40' },
    'rollout-timeout': { type: 'string', default: '600' },
  },
});
const COUNT = Number(values.count);
const RATE = Number(values.rate);
const say = (line: string) => process.stdout.write(`${line}\n`);

interface DriftReportValue { model_version: string; variant: string; window_index: number; severity: string; metrics: { name: string; psi: number; severity: string }[]; accuracy: number | null }

function requestsFor(set: SampleSet, s3Uris: Map<string, string>, count: number, labels: Map<string, number>, start = 0): ImageRequest[] {
  return Array.from({ length: count }, (_, n) => {
    const i = start + n;
    const sample = set.samples[i % set.samples.length]!;
    // Half the references are s3://, half file://, as upstream services would mix them.
    const uri = i % 2 === 0 ? s3Uris.get(sample.file)! : pathToFileURL(join(set.dir, sample.file)).href;
    const r = newImageRequest(uri, { stickinessKey: `user-${i % 200}`, source: 'demo' });
    labels.set(r.request_id, sample.labelIndex);
    return r;
  });
}

async function publishWithFeedback(h: PipelineHarness, requests: ImageRequest[], labels: Map<string, number>, label: string, names: string[], rate = RATE, quiet = false): Promise<void> {
  const bar = quiet ? null : createProgressBar(label, requests.length, process.stdout);
  const pacer = new Pacer(rate);
  const step = Math.max(1, Math.min(100, Math.round(rate / 10)));
  for (let i = 0; i < requests.length; i += step) {
    await pacer.next(Math.min(step, requests.length - i));
    // Stamped when sent, so the latency printed is the pipeline's, not the time spent waiting for the pacer.
    const now = Date.now();
    const batch = requests.slice(i, i + step).map((r) => ({ ...r, submitted_at: now }));
    await h.publish(batch);
    await h.publisher.publishFeedback(batch.map((r) => ({
      request_id: r.request_id, true_index: labels.get(r.request_id) ?? null, true_label: names[labels.get(r.request_id) ?? 0] ?? '', observed_at: Date.now(), source: 'demo-labels',
    })));
    bar?.tick(batch.length);
  }
  bar?.done();
}

const FINAL_DECISIONS = ['completed', 'rolled_back', 'aborted'];

/**
 * Starts the demo rollout of v2 and keeps labelled traffic flowing until the controller completes or rolls it
 * back, printing each decision as it lands on the rollouts topic.
 */
async function runRollout(h: PipelineHarness, requests: () => ImageRequest[], labels: Map<string, number>, names: string[]): Promise<RolloutDecisionRecord> {
  const topics = rolloutTopics(h.prefix);
  await ensureTopics(h.clients.admin, rolloutTopicSpecs(topics), readKafkaSettings(new EnvReader(), 'demo'), createLogger('demo', 'warn'));
  const decisions: TopicCollector<RolloutDecisionRecord> = await h.collect(topics.decisions);
  const spec = checkRolloutSpec(JSON.parse(await readFile(join(REPO_ROOT, 'rollouts/examples/v2-demo.json'), 'utf8')));
  say(`rollout ${spec.id}: ${spec.steps.map((s) => s.name).join(' → ')}, guards on accuracy, PSI, dead letters, latency and shadow agreement`);
  await sendCommand(h.clients.producer, h.clients.serde, topics.commands, newCommand('start', spec.id, 'demo', spec));
  const deadline = Date.now() + Number(values['rollout-timeout']) * 1000;
  let printed = 0;
  for (;;) {
    const mine = decisions.items.map((d) => d.value).filter((d) => d.rollout_id === spec.id);
    for (const d of mine.slice(printed)) say(formatDecision(fromDecisionRecord(d)));
    printed = mine.length;
    const last = mine.find((d) => FINAL_DECISIONS.includes(d.decision) || (d.decision === 'rejected' && d.seq === 0));
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`rollout ${spec.id} did not finish within ${values['rollout-timeout']} s; see .state/test-logs/${h.prefix}/rollouts.log`);
    await publishWithFeedback(h, requests(), labels, 'rollout traffic', names, Number(values['rollout-rate']), true);
  }
}

async function main(): Promise<void> {
  if (!process.env.KAFKA_BROKERS) {
    say('== local stack (Kafka KRaft, Apicurio Registry, MinIO on 127.0.0.1; first run installs them, several minutes)');
    const up = await startLocalStack({ log: say });
    Object.assign(process.env, up.env);
  }
  const h = await new PipelineHarness().connect();
  let keepAlive = false;
  try {
    const manifests: Record<string, ModelManifest> = {};
    for (const v of ['v1', 'v2']) manifests[v] = JSON.parse(await readFile(join(REPO_ROOT, `models/fashion-mnist/${v}/manifest.json`), 'utf8'));
    const names = manifests.v1!.labels;

    say('== sample images (Fashion-MNIST test set: PNG, JPEG, RGB at other sizes; and a darkened set)');
    const dataDir = join(REPO_ROOT, 'data', 'samples');
    const clean = await writeSamples(join(dataDir, 'demo-mixed'), 'mixed', Math.min(COUNT, 5_000));
    const dark = await writeSamples(join(dataDir, 'demo-dark'), 'dark', 1_000, 5_000);
    const bucket = h.s3Settings.bucket;
    const cleanUris = await uploadSamples(h.s3(), bucket, 'demo/mixed', clean);
    const darkUris = await uploadSamples(h.s3(), bucket, 'demo/dark', dark);
    say(`${clean.samples.length} clean and ${dark.samples.length} darkened images in ${dataDir} and s3://${bucket}/demo/`);

    say(`== services (topics under prefix ${h.prefix}; logs in .state/test-logs/${h.prefix}/)`);
    const predictions: TopicCollector<Prediction> = await h.collect(h.clients.topics.predictions);
    const deadLetters: TopicCollector<DeadLetter> = await h.collect(h.clients.topics.dlq);
    const drift: TopicCollector<DriftReportValue> = await h.collect(h.clients.topics.drift);
    const experiment = JSON.parse(await readFile(join(REPO_ROOT, 'router/experiments/ab-50-50-sticky.json'), 'utf8'));
    await h.setExperiment(experiment);
    const consumerEnv = { FETCH_FILE_ROOTS: dataDir, MAX_BATCH_SIZE: '32' };
    await Promise.all([
      h.start('router', 'router'),
      h.start('inference-v1', 'inference', { ...consumerEnv, MODEL_VERSION: 'v1' }),
      h.start('inference-v2', 'inference', { ...consumerEnv, MODEL_VERSION: 'v2' }),
    ]);
    // Windows of 200: the rollout's 25 % step closes one every 20 s at the rollout rate.
    const [monitor, controller] = await Promise.all([
      h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: '200' }),
      h.start('rollouts', 'rollouts'),
    ]);
    const dashboard = `${monitor.opsUrl}/?rollouts=${encodeURIComponent(controller.opsUrl)}`;
    say(`router, inference v1, inference v2, the drift monitor and the rollout controller are ready (dashboard ${dashboard})`);
    say(`experiment ${experiment.id}: ${experiment.description}`);

    say(`== A/B test: ${COUNT} requests at ${RATE}/s with ground-truth feedback`);
    const labels = new Map<string, number>();
    const started = Date.now();
    await publishWithFeedback(h, requestsFor(clean, cleanUris, COUNT, labels), labels, 'published', names);
    const expected = COUNT;
    await predictions.waitFor((items) => new Set(items.map((p) => p.value.request_id)).size + deadLetters.items.length >= expected, 600_000,
      () => `${predictions.items.length} predictions and ${deadLetters.items.length} dead letters of ${expected}`);
    const seconds = (Date.now() - started) / 1000;
    const rows = summarise(predictions.items.map((p) => p.value), (id) => labels.get(id), { v1: manifests.v1!.metrics!.test_accuracy, v2: manifests.v2!.metrics!.test_accuracy });
    say(formatSummary(rows, deadLetters.items.length));
    say(`${predictions.items.length} predictions in ${seconds.toFixed(1)} s (${(predictions.items.length / seconds).toFixed(0)} images/s end to end, publishing included)`);
    // With OTEL_EXPORTER_OTLP_ENDPOINT set (npm run stack -- env --tracing) the services inherit it and export traces.
    const traced = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? traceId(predictions.items[0]?.headers[TRACEPARENT]) : undefined;
    if (traced) {
      say(`one request's trace: ${process.env.JAEGER_QUERY_URL ?? JAEGER_ENV.JAEGER_QUERY_URL}/api/traces/${traced} (as a waterfall: npx tsx stack/jaeger/show-trace.ts ${traced})`);
    }

    say(`== rollout of v2 by the rollout controller (${values['rollout-rate']} requests/s with feedback until it completes or rolls back)`);
    const rolloutStarted = Date.now();
    let next = 0;
    const final = await runRollout(h, () => requestsFor(clean, cleanUris, 200, labels, (next += 200)), labels, names);
    say(`ROLLOUT ${final.decision.toUpperCase()} after ${((Date.now() - rolloutStarted) / 1000).toFixed(0)} s: ${final.reason}`);
    say('decision log: npm run rollout -- status (with TOPIC_PREFIX=' + h.prefix + ')');

    say('== drift: streaming darkened images (pixel values × 0.4)');
    const shiftedAt = Date.now();
    const before = drift.items.length;
    const driftLabels = new Map<string, number>();
    const timeout = Date.now() + Number(values['drift-timeout']) * 1000;
    let found: DriftReportValue | undefined;
    while (!found && Date.now() < timeout) {
      await publishWithFeedback(h, requestsFor(dark, darkUris, 1_000, driftLabels), driftLabels, 'shifted', names);
      await drift.waitFor((items) => items.slice(before).some((r) => r.value.severity === 'significant'), 20_000).catch(() => undefined);
      found = drift.items.slice(before).find((r) => r.value.severity === 'significant')?.value;
    }
    if (!found) throw new Error(`no significant drift reported within ${values['drift-timeout']} s; see the drift monitor log in .state/test-logs/${h.prefix}/`);
    const worst = [...found.metrics].sort((a, b) => b.psi - a.psi).slice(0, 3).map((m) => `${m.name} PSI ${m.psi.toFixed(2)}`).join(', ');
    say(`DRIFT DETECTED ${((Date.now() - shiftedAt) / 1000).toFixed(1)} s after the shift: ${found.model_version}/${found.variant} window ${found.window_index} is significant (${worst})`);
    say(`dashboard: ${dashboard}`);
    keepAlive = values.keep;
    if (keepAlive) {
      say('services keep running (--keep); Ctrl-C stops them. The stack stays up: npm run stack -- down stops it.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await h.close();
  }
  say('done. The local stack is still running: npm run stack -- status | down');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
