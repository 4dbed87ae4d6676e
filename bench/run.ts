/**
 * npm run bench: in-process throughput (fetch + sharp + ONNX Runtime, no Kafka) against the whole pipeline
 * through Kafka, on the same images and batch size; a batch-size sweep; end-to-end latency at half the measured
 * maximum; for the Fashion-MNIST model and a 224×224 MobileNetV2. The last line of output is one JSON object.
 *   npm run bench [-- --quick] [-- --rounds N]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireStack } from '../stack/acquire-stack.ts';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';
import { benchImages } from './bench-images.ts';
import { ensureBenchmarkModel } from './benchmark-model.ts';
import { inProcessThroughput, loadBenchModel } from './in-process.ts';
import { pipelineRun, type PipelineResult } from './pipeline.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string', default: '2' } } });
/** In-process and pipeline runs alternate this many times per batch size; medians are reported (2 cores are noisy). */
const ROUNDS = Number(values.rounds);
const log = (line: string) => process.stderr.write(`${line}\n`);
const BATCHES = [1, 8, 32, 64];

interface SweepRow { batch: number; inprocess_ips: number; pipeline_ips: number; ratio: number; inprocess_runs: number[]; pipeline_runs: number[] }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
interface ModelResult { model: string; images: number; sweep: SweepRow[]; latency_at_half_max_b32: PipelineResult['latency'] }

async function benchModel(name: string, modelDir: string, uris: string[], count: number): Promise<ModelResult> {
  log(`== ${name}: ${uris.length} images, ${count} per pipeline run`);
  const model = await loadBenchModel(modelDir);
  const sweep: SweepRow[] = [];
  let latency: PipelineResult['latency'];
  for (const batch of BATCHES) {
    const inprocessRuns: number[] = [];
    const pipelineRuns: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const inprocess = await inProcessThroughput(model, uris.slice(0, Math.max(count, batch * 4)), batch);
      inprocessRuns.push(inprocess);
      log(`  in-process batch ${batch} (round ${round}): ${inprocess.toFixed(1)} images/s`);
      // Batch 1 through Kafka is slow by nature; fewer images keep the run short without changing the rate.
      const last = round === ROUNDS;
      const result = await pipelineRun({
        modelDir, version: model.manifest.version, uris, batchSize: batch, count: batch === 1 ? Math.ceil(count / 4) : count,
        latencyLoad: batch === 32 && last ? 0.5 : 0, latencySeconds: values.quick ? 10 : 20, log,
      });
      pipelineRuns.push(result.ips);
      if (batch === 32 && last) latency = result.latency;
    }
    const inprocess = median(inprocessRuns);
    const pipeline = median(pipelineRuns);
    sweep.push({ batch, inprocess_ips: inprocess, pipeline_ips: pipeline, ratio: pipeline / inprocess, inprocess_runs: inprocessRuns, pipeline_runs: pipelineRuns });
  }
  await model.session.release();
  return { model: name, images: uris.length, sweep, latency_at_half_max_b32: latency };
}

async function main(): Promise<void> {
  const stack = await acquireStack(log);
  try {
    const dir = join(REPO_ROOT, 'data', 'bench');
    const fashion = await benchModel('fashion-mnist-v1', join(REPO_ROOT, 'models/fashion-mnist/v1'),
      await benchImages('fashion', dir, 2_000), values.quick ? 1_000 : 3_000);
    const mobilenet = await benchModel('mobilenetv2-224', ensureBenchmarkModel(log),
      await benchImages('photo', dir, 512), values.quick ? 300 : 1_000);
    const at = (m: ModelResult, b: number) => m.sweep.find((r) => r.batch === b) as SweepRow;
    const headline = at(mobilenet, 32);
    const result = {
      machine: `${(await import('node:os')).cpus().length} cores`,
      model: 'mobilenetv2-224', batch: 32,
      inprocess_ips: headline.inprocess_ips,
      pipeline_ips: headline.pipeline_ips,
      ratio: headline.ratio,
      p50_ms: mobilenet.latency_at_half_max_b32?.p50,
      p95_ms: mobilenet.latency_at_half_max_b32?.p95,
      p99_ms: mobilenet.latency_at_half_max_b32?.p99,
      fashion_pipeline_b32_over_b1: at(fashion, 32).pipeline_ips / at(fashion, 1).pipeline_ips,
      models: [fashion, mobilenet],
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
