/**
 * What warm-up buys after a scale-out: each trial is a fresh process (as a new consumer is) that loads the
 * model, warms it up or not, then times its first batches and its steady state. Prints one JSON line.
 *
 *   npx tsx bench/warm-up-latency.ts [--model models/fashion-mnist/v2] [--batch 32] [--trials 5] [--batches 20] [--warmups 1]
 *
 * --warmups: warm-up calls in the warmed trials (the consumer makes WARMUP_BATCHES, 3 by default).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { runBatch } from '../models/runtime/run-batch.ts';
import { allocateBatch } from '../models/runtime/preprocess/batch-tensor.ts';
import { warmUp } from '../inference-consumers/service/warm-up.ts';
import { loadModel } from '../models/loader/load-model.ts';
import { defaultSessionConfig } from '../models/runtime/session.ts';
import { median } from './rounding.ts';

interface Trial {
  warmup_ms: number | null;
  /** Wall-clock time of each batch. */
  batch_ms: number[];
  /** CPU time of the process (all threads) during each batch: less sensitive to other load on the machine. */
  batch_cpu_ms: number[];
}

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fashion-mnist/v2' },
    batch: { type: 'string', default: '32' },
    trials: { type: 'string', default: '5' },
    batches: { type: 'string', default: '20' },
    child: { type: 'boolean', default: false },
    warm: { type: 'boolean', default: false },
    warmups: { type: 'string', default: '3' },
  },
});
const batch = Number(values.batch);
const batches = Number(values.batches);

async function trial(): Promise<Trial> {
  const model = await loadModel(values.model, { session: defaultSessionConfig, logger: pino({ level: 'silent' }) });
  let warmupMs: number | null = null;
  if (values.warm) {
    warmupMs = (await warmUp(model, batch, Number(values.warmups))) * 1000;
  }
  const tensor = allocateBatch(model.manifest.input, batch);
  // Not all zeros, as records are not.
  for (let i = 0; i < tensor.data.length; i++) tensor.data[i] = model.manifest.input.dtype === 'float32' ? Math.sin(i) : i % 200;
  const times: number[] = [];
  const cpu: number[] = [];
  for (let b = 0; b < batches; b++) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await runBatch(model.session, model.manifest, tensor, batch);
    const used = process.cpuUsage(cpuStarted);
    times.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
  }
  await model.session.release();
  return { warmup_ms: warmupMs, batch_ms: times, batch_cpu_ms: cpu };
}

const round = (x: number): number => Math.round(x * 100) / 100;

function runTrial(warm: boolean): Trial {
  // The same runtime flags as this process (tsx's loader when run through tsx), so a trial runs the same code.
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--model', values.model, '--batch', String(batch), '--batches', String(batches), '--warmups', values.warmups];
  const r = spawnSync(process.execPath, warm ? [...args, '--warm'] : args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`trial failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Trial;
}

/** Medians over trials: the first batch, the second, the first five together, and the batches after those. */
function summary(trials: Trial[]) {
  const of = (series: (t: Trial) => number[]) => ({
    first: round(median(trials.map((t) => series(t)[0] as number))),
    second: round(median(trials.map((t) => series(t)[1] as number))),
    first_5_total: round(median(trials.map((t) => series(t).slice(0, 5).reduce((a, b) => a + b, 0)))),
    steady: round(median(trials.flatMap((t) => series(t).slice(5)))),
  });
  return {
    warmup_ms: trials[0]?.warmup_ms === null ? null : round(median(trials.map((t) => t.warmup_ms as number))),
    batch_ms: of((t) => t.batch_ms),
    batch_cpu_ms: of((t) => t.batch_cpu_ms),
  };
}

if (values.child) {
  process.stdout.write(`${JSON.stringify(await trial())}\n`);
} else {
  // Alternated, so that whatever else the machine runs weighs on both alike.
  const cold: Trial[] = [];
  const warm: Trial[] = [];
  for (let t = 0; t < Number(values.trials); t++) {
    cold.push(runTrial(false));
    warm.push(runTrial(true));
  }
  process.stdout.write(`${JSON.stringify({ bench: 'warm-up-latency', model: values.model, batch, trials: Number(values.trials), batches, warmups: Number(values.warmups), loadavg_1m: round(loadavg()[0] as number), without_warmup: summary(cold), with_warmup: summary(warm) })}\n`);
}
