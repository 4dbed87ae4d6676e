/**
 * Result cache bench (issue 17): a stream where half the requests repeat an earlier image, through the
 * consumer's processBatch (fetch, hash, decode, one ONNX Runtime call per batch; no Kafka) with the cache off
 * and on; throughput, hit rate, the cost of a hit and of a miss, and whether every answer is identical.
 * Usage: npx tsx bench/result-cache.ts [--images N] [--rounds R]. Prints JSON. Not a test: no assertions.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { processBatch, type BatchItem } from '../inference-consumers/service/process-batch.ts';
import { ResultCache } from '../inference-consumers/service/result-cache.ts';
import type { Prediction } from '../inference-consumers/service/prediction.ts';
import type { LoadedModel } from '../models/loader/load-model.ts';
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';
import { benchImages } from './bench-images.ts';
import { ensureBenchmarkModels } from './benchmark-model.ts';
import { loadBenchModel } from './in-process.ts';
import { benchBatchDeps, routedItem } from './routed-items.ts';
import { median, round1, round3 } from './rounding.ts';

const BATCH = 32;
/** Repeats come from images at least this many distinct ones back: two chunks of BATCH requests, half of them new. */
const REPEAT_GAP = BATCH;
const USAGE = 'npx tsx bench/result-cache.ts [--images N (distinct, at most 2000; MobileNetV2 at most 512)] [--rounds R]';
const log = (line: string): void => { process.stderr.write(`${line}\n`); };

/**
 * Pure: `distinct` URIs, each followed by a repeat of one drawn uniformly (seeded) from those at least `gap`
 * before it (from all before it while fewer are). A repeat of an image still in a chunk in flight misses: the
 * cache holds answers once their batch is inferred (identical bytes inside one chunk are not coalesced).
 */
function halfRepeating(distinct: string[], gap: number, seed = 42): string[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  return distinct.flatMap((uri, i) => {
    const older = i >= gap ? i - gap + 1 : i + 1;
    return [uri, distinct[Math.floor(random() * older)] as string];
  });
}

interface Run {
  images_per_second: number;
  predictions: Map<string, Prediction>;
  hits: number;
  misses: number;
}

/** Batches of BATCH in stream order, two in flight as the consumer runs two partitions at once. */
async function run(model: LoadedModel, items: BatchItem[], cache: ResultCache | undefined): Promise<Run> {
  const deps = benchBatchDeps(model, BATCH, { cache });
  const predictions = new Map<string, Prediction>();
  let hits = 0;
  let misses = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const chunk = items.slice(next, next + BATCH);
      next += BATCH;
      const result = await processBatch(chunk, deps);
      if (result.failed.length > 0) throw new Error(`result-cache bench: ${result.failed[0]?.error.message}`);
      for (const p of result.predictions) predictions.set(p.item.request.request_id, p.prediction);
      hits += result.cache.hits;
      misses += result.cache.misses;
    }
  };
  await Promise.all([worker(), worker()]);
  return { images_per_second: items.length / ((performance.now() - started) / 1000), predictions, hits, misses };
}


async function benchModel(name: string, modelDir: string, uris: string[], rounds: number) {
  log(`== ${name}: ${uris.length} distinct images, stream of ${uris.length * 2}, ${rounds} round(s)`);
  const model = await loadBenchModel(modelDir);
  const version = model.manifest.version;
  const stream = halfRepeating(uris, REPEAT_GAP).map((uri, i) => routedItem(uri, version, { requestId: `r${i}` }));
  // Warm-up: allocation, graph preparation, the file cache.
  await run(model, stream.slice(0, 4 * BATCH), undefined);
  const off: number[] = [];
  const on: number[] = [];
  let identical = true;
  let hitRate = 0;
  for (let r = 0; r < rounds; r++) {
    const without = await run(model, stream, undefined);
    const cache = new ResultCache({ maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 });
    const withCache = await run(model, stream, cache);
    off.push(without.images_per_second);
    on.push(withCache.images_per_second);
    hitRate = withCache.hits / (withCache.hits + withCache.misses);
    for (const [id, p] of withCache.predictions) {
      const q = without.predictions.get(id);
      if (!q || JSON.stringify(q.top_k) !== JSON.stringify(p.top_k) || JSON.stringify(q.input_stats) !== JSON.stringify(p.input_stats)) identical = false;
    }
    if (withCache.predictions.size !== stream.length || without.predictions.size !== stream.length) identical = false;
    log(`  round ${r + 1}: off ${round1(without.images_per_second)} img/s, on ${round1(withCache.images_per_second)} img/s, hit rate ${round3(hitRate)}`);
  }
  // A hit against a miss: the same distinct images again through a full cache (every one a hit), and with it off.
  const distinct = uris.map((uri, i) => routedItem(uri, version, { requestId: `d${i}` }));
  const full = new ResultCache({ maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 });
  await run(model, distinct, full);
  const allHits = await run(model, distinct, full);
  const allMisses = await run(model, distinct, undefined);
  await model.session.release();
  return {
    model: name,
    stream: { requests: stream.length, distinct_images: uris.length, repeats_at_least_distinct_back: REPEAT_GAP, batch: BATCH, chunks_in_flight: 2 },
    cache_off_images_per_second: round1(median(off)),
    cache_on_images_per_second: round1(median(on)),
    speedup: round3(median(on) / median(off)),
    hit_rate: round3(hitRate),
    predictions_identical: identical,
    ms_per_image: { hit: round3(1000 / allHits.images_per_second), miss: round3(1000 / allMisses.images_per_second) },
    hit_share_of_miss_cost: round3(allMisses.images_per_second / allHits.images_per_second),
  };
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, { options: { images: { type: 'string', default: '512' }, rounds: { type: 'string', default: '3' } } });
  const count = Number(values.images);
  const rounds = Number(values.rounds);
  if (!(count > 0 && count <= 2_000 && rounds > 0)) exitWithUsage(USAGE, '--images is 1..2000 and --rounds at least 1');
  const before = loadavg().map(round1);
  const dir = join(REPO_ROOT, 'data', 'bench');
  const mobilenet = ensureBenchmarkModels(log);
  const results = [
    await benchModel('mobilenetv2-224', mobilenet.fp32, await benchImages('photo', dir, Math.min(count, 512)), rounds),
    await benchModel('fashion-mnist-v1', join(REPO_ROOT, 'models/fashion-mnist/v1'), await benchImages('fashion', dir, count), rounds),
  ];
  // Other work on the machine moves these figures: the load average says how busy it was.
  process.stdout.write(`${JSON.stringify({ bench: 'result-cache', cores: cpus().length, load_average_before: before, load_average_after: loadavg().map(round1), results }, null, 2)}\n`);
}

await main();
