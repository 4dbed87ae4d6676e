/**
 * Deadlines bench (issue 17): the inference consumer's processBatch (fetch, decode, one ONNX Runtime call per
 * batch of 32; no Kafka) recovering from an outage, with and without deadlines, on the real model and images.
 * Requests "arrived" during the outage wait as a backlog (submitted_at in the past, in order); after the restart
 * more arrive in real time at the same rate. Figures: time until the consumer is current (its next request has
 * not arrived yet), requests skipped per second, expired requests predicted, and the share of requests
 * submitted after it was current that were predicted within their deadline. Also the cost of skipping an
 * expired request (processBatch plus building and Avro-encoding its dead letter) against serving one.
 * The 60 s outage, 80 requests/s and 10 s deadline are scaled to this machine: --outage-s (20) and
 * --deadline-s (a sixth of it, as 10 of 60), and a rate of --rate-share (0.5) of the consumer's measured capacity,
 * since a MobileNetV2 consumer on two shared cores serves fewer than 80/s (and a Fashion-MNIST one many more).
 * On a busy machine the capacity during the run may fall below the rate: then the run without deadlines is not
 * current within its budget (time_to_current_s null), which says so rather than a figure.
 * With deadlines the consumer still serves the requests of the last deadline before the restart, so it can be
 * current at best outage ÷ deadline (6 with the defaults) times sooner; --rounds (3) pairs of runs, medians reported.
 * Kafka's own costs are left out on both sides (reading the record; producing the prediction or the dead letter).
 * Usage: npx tsx bench/deadlines.ts [--model mobilenet|fashion|both] [--rounds N] [--outage-s S] [--deadline-s S]. Prints JSON.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import { processBatch, type BatchItem } from '../inference-consumers/service/process-batch.ts';
import type { LoadedModel } from '../models/loader/load-model.ts';
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { toDeadLetter } from '../platform/dead-letter.ts';
import { loadSchema } from '../platform/schema-registry.ts';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';
import { benchImages } from './bench-images.ts';
import { ensureBenchmarkModels } from './benchmark-model.ts';
import { loadBenchModel } from './in-process.ts';
import { benchBatchDeps, routedItem } from './routed-items.ts';
import { median, round1, round3, round4 } from './rounding.ts';

const BATCH = 32;
const COST_ROUNDS = 5;
const USAGE = 'npx tsx bench/deadlines.ts [--model mobilenet|fashion|both] [--rounds N (3)] [--outage-s S (20)] [--deadline-s S (outage / 6)] [--rate-share F (0.5)]';
const log = (line: string): void => { process.stderr.write(`${line}\n`); };
const deadLetterType = avro.Type.forSchema(JSON.parse(loadSchema('DeadLetter')) as avro.Schema);

/**
 * Per-item milliseconds of serving fresh requests and of skipping expired ones (dead letter built and encoded):
 * the medians of COST_ROUNDS rounds that time one pass of each in turn, after a pass of each that warms the session,
 * the page cache and the compiled code, so a burst of other work on the machine moves one round, not the figure.
 */
async function costs(model: LoadedModel, uris: string[]): Promise<{ serveMs: number; skipMs: number }> {
  const deps = benchBatchDeps(model, BATCH);
  const version = model.manifest.version;
  const fresh = uris.map((uri) => routedItem(uri, version));
  const expired = Array.from({ length: 20 * uris.length }, (_, i) => routedItem(uris[i % uris.length] as string, version, { deadline: 1 }));
  for (const item of expired) item.message.value = Buffer.alloc(200);
  const serve = async (): Promise<void> => {
    for (let i = 0; i < fresh.length; i += BATCH) await processBatch(fresh.slice(i, i + BATCH), deps);
  };
  const skip = async (): Promise<void> => {
    for (let i = 0; i < expired.length; i += BATCH) {
      const result = await processBatch(expired.slice(i, i + BATCH), deps);
      for (const f of result.failed) {
        deadLetterType.toBuffer(toDeadLetter({ topic: 'images.requests.v1', partition: 0, message: f.item.message, error: f.error, requestId: f.item.request.request_id }, 'bench', { maxValueBytes: 1_048_576 }));
      }
    }
  };
  const perItem = async (pass: () => Promise<void>, items: number): Promise<number> => {
    const started = performance.now();
    await pass();
    return (performance.now() - started) / items;
  };
  await serve();
  await skip();
  const serveMs: number[] = [];
  const skipMs: number[] = [];
  for (let round = 0; round < COST_ROUNDS; round++) {
    serveMs.push(await perItem(serve, fresh.length));
    skipMs.push(await perItem(skip, expired.length));
  }
  return { serveMs: median(serveMs), skipMs: median(skipMs) };
}

interface Outcome { submittedAt: number; predictedAt?: number; skipped: boolean }

/**
 * One outage and recovery. Every request is judged against `deadlineMs` after its submission; `enforce` puts
 * that deadline on the requests (else they carry none).
 */
type Recovery = Awaited<ReturnType<typeof recovery>>;

async function recovery(model: LoadedModel, uris: string[], rate: number, outageMs: number, deadlineMs: number, enforce: boolean, budgetMs: number) {
  const deps = benchBatchDeps(model, BATCH);
  const version = model.manifest.version;
  const t0 = Date.now();
  const arrival = (i: number): number => t0 - outageMs + (i * 1000) / rate;
  const outcomes: Outcome[] = [];
  let currentAt: number | undefined;
  let next = 0;
  while (Date.now() - t0 < budgetMs && (currentAt === undefined || Date.now() - currentAt < 5_000)) {
    const now = Date.now();
    if (arrival(next) > now) {
      currentAt ??= now;
      await sleep(Math.max(1, arrival(next) - now));
      continue;
    }
    const chunk: BatchItem[] = [];
    while (chunk.length < BATCH && arrival(next) <= now) {
      const submittedAt = arrival(next);
      chunk.push(routedItem(uris[next % uris.length] as string, version, {
        requestId: String(next), now: submittedAt, deadline: enforce ? submittedAt + deadlineMs : null,
      }));
      outcomes[next] = { submittedAt, skipped: false };
      next += 1;
    }
    const result = await processBatch(chunk, deps);
    for (const p of result.predictions) (outcomes[Number(p.item.request.request_id)] as Outcome).predictedAt = p.prediction.predicted_at;
    for (const f of result.failed) {
      if (f.error.errorClass !== 'Expired') throw new Error(`deadlines bench: ${f.error.message}`);
      (outcomes[Number(f.item.request.request_id)] as Outcome).skipped = true;
    }
  }
  const skipped = outcomes.filter((o) => o.skipped).length;
  const predicted = outcomes.filter((o) => o.predictedAt !== undefined);
  const late = (o: Outcome): boolean => (o.predictedAt as number) - o.submittedAt > deadlineMs;
  const afterCurrent = currentAt === undefined ? [] : outcomes.filter((o) => o.submittedAt >= (currentAt as number) && (o.skipped || o.predictedAt !== undefined));
  return {
    deadlines: enforce,
    time_to_current_s: currentAt === undefined ? null : round1((currentAt - t0) / 1000),
    backlog_at_restart: Math.floor((outageMs * rate) / 1000),
    requests_handled: skipped + predicted.length,
    skipped,
    skipped_per_second_until_current: currentAt === undefined ? null : round1(skipped / ((currentAt - t0) / 1000)),
    predicted: predicted.length,
    // Judged against the same deadline in both runs: predictions nobody was waiting for any more.
    predicted_past_deadline: predicted.filter(late).length,
    share_within_deadline_once_current: afterCurrent.length === 0 ? null : round3(afterCurrent.filter((o) => o.predictedAt !== undefined && !late(o)).length / afterCurrent.length),
  };
}

interface Scenario { outageMs: number; deadlineMs: number; rateShare: number; rounds: number }

async function benchModel(name: string, modelDir: string, uris: string[], { outageMs, deadlineMs, rateShare, rounds: roundCount }: Scenario) {
  log(`== ${name}`);
  const model = await loadBenchModel(modelDir);
  const { serveMs, skipMs } = await costs(model, uris.slice(0, name.startsWith('fashion') ? 2_000 : 256));
  const capacity = 1000 / serveMs;
  const rate = Math.max(1, Math.round(rateShare * capacity));
  log(`  serve ${round3(serveMs)} ms, skip ${round3(skipMs)} ms per request; rate ${rate}/s`);
  // Without deadlines the backlog drains at capacity minus rate: about as long as the outage at half the capacity.
  const budgetMs = 3 * outageMs + 30_000;
  // Each round runs both modes in turn; the capacity of two shared cores drifts between runs, and the time to be
  // current without deadlines follows capacity minus rate closely, so one pair alone is a noisy ratio.
  const rounds: { with_deadlines: Recovery; without_deadlines: Recovery }[] = [];
  for (let round = 0; round < roundCount; round++) {
    const withDeadlines = await recovery(model, uris, rate, outageMs, deadlineMs, true, budgetMs);
    log(`  round ${round + 1}, with deadlines: current after ${withDeadlines.time_to_current_s} s`);
    const without = await recovery(model, uris, rate, outageMs, deadlineMs, false, budgetMs);
    log(`  round ${round + 1}, without: current after ${without.time_to_current_s} s`);
    rounds.push({ with_deadlines: withDeadlines, without_deadlines: without });
  }
  await model.session.release();
  // A run not current within its budget counts as never: a median that is never has no figure.
  const medianTime = (runs: Recovery[]): number | null => {
    const m = median(runs.map((r) => r.time_to_current_s ?? Infinity));
    return Number.isFinite(m) ? round1(m) : null;
  };
  const withS = medianTime(rounds.map((r) => r.with_deadlines));
  const withoutS = medianTime(rounds.map((r) => r.without_deadlines));
  return {
    model: name,
    outage_s: outageMs / 1000, deadline_s: round3(deadlineMs / 1000), budget_s: Math.round(budgetMs / 1000), rate_per_second: rate, capacity_per_second: round1(capacity),
    serve_ms_per_request: round3(serveMs), skip_ms_per_request: round4(skipMs), skip_speedup: round1(serveMs / skipMs),
    time_to_current_s: { with_deadlines: withS, without_deadlines: withoutS },
    predicted_past_deadline_with_deadlines: rounds.reduce((n, r) => n + r.with_deadlines.predicted_past_deadline, 0),
    rounds,
    current_sooner: withS && withoutS ? round1(withoutS / withS) : null,
  };
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: { model: { type: 'string', default: 'both' }, rounds: { type: 'string', default: '3' }, 'outage-s': { type: 'string', default: '20' }, 'deadline-s': { type: 'string' }, 'rate-share': { type: 'string', default: '0.5' } },
  });
  const rateShare = Number(values['rate-share']);
  const outageMs = Number(values['outage-s']) * 1000;
  const deadlineMs = values['deadline-s'] === undefined ? outageMs / 6 : Number(values['deadline-s']) * 1000;
  const rounds = Number(values.rounds);
  if (!(outageMs > 0 && deadlineMs > 0 && rateShare > 0 && rateShare < 1 && Number.isInteger(rounds) && rounds > 0) || !['mobilenet', 'fashion', 'both'].includes(values.model)) exitWithUsage(USAGE, 'bad arguments');
  const scenario: Scenario = { outageMs, deadlineMs, rateShare, rounds };
  const before = loadavg().map(round1);
  const dir = join(REPO_ROOT, 'data', 'bench');
  const results = [];
  if (values.model !== 'fashion') results.push(await benchModel('mobilenetv2-224', ensureBenchmarkModels(log).fp32, await benchImages('photo', dir, 512), scenario));
  if (values.model !== 'mobilenet') results.push(await benchModel('fashion-mnist-v1', join(REPO_ROOT, 'models/fashion-mnist/v1'), await benchImages('fashion', dir, 2_000), scenario));
  // Other work on the machine moves these figures: the load average says how busy it was.
  process.stdout.write(`${JSON.stringify({ bench: 'deadlines', cores: cpus().length, load_average_before: before, load_average_after: loadavg().map(round1), results }, null, 2)}\n`);
}

await main();
