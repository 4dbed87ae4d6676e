import { join } from 'node:path';
import { latencyPercentiles, type LatencyPercentiles } from '../drift-monitor/analytics/stats.ts';
import type { Prediction } from '../inference-consumers/service/prediction.ts';
import { newImageRequest } from '../producers/image-request.ts';
import { Pacer } from '../producers/pacer.ts';
import { PipelineHarness, REPO_ROOT } from '../stack/pipeline-harness.ts';
import type { TopicCollector } from '../stack/topic-collector.ts';

export interface PipelineOptions {
  modelDir: string;
  version: string;
  uris: string[];
  batchSize: number;
  count: number;
  /** Measure latency at this share of the measured throughput (0: skip). */
  latencyLoad: number;
  latencySeconds: number;
  log: (line: string) => void;
  /** Extra environment for the services (e.g. DELIVERY). */
  env?: Record<string, string>;
}

export interface PipelineResult {
  ips: number;
  latency?: LatencyPercentiles & { offered_rate: number; samples: number };
}

const requestsFor = (uris: string[], n: number, from: number) => Array.from({ length: n }, (_, i) => newImageRequest(uris[(from + i) % uris.length] as string, { source: 'bench' }));

async function waitCount(c: TopicCollector<Prediction>, n: number, timeoutMs: number): Promise<void> {
  await c.waitFor((items) => items.length >= n, timeoutMs, () => `${c.items.length} of ${n} predictions`);
}

/**
 * Throughput of the real pipeline (router + one inference consumer process, through the broker and registry):
 * the input topic is filled first, so the publisher's own work is not counted, and the rate is taken over the
 * predictions after a warm-up of a few batches.
 */
export async function pipelineRun(o: PipelineOptions): Promise<PipelineResult> {
  const h = await new PipelineHarness().connect();
  try {
    const warmup = Math.max(64, 4 * o.batchSize);
    const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
    await h.setExperiment({ id: 'bench', versions: [o.version], default_version: o.version, rules: [] });
    await h.publish(requestsFor(o.uris, warmup + o.count, 0));
    // Groups under this run's prefix: a router or consumer of another run on the same broker must not share them.
    await h.start('inference', 'inference', {
      CONSUMER_GROUP_ID: `${h.prefix}.inference-${o.version}`, MODEL_VERSION: o.version, MODEL_URI: o.modelDir, MAX_BATCH_SIZE: String(o.batchSize),
      FETCH_FILE_ROOTS: [join(REPO_ROOT, 'data'), join(REPO_ROOT, 'bench')].join(','), LOG_LEVEL: 'warn', ...o.env,
    });
    await h.start('router', 'router', { ROUTER_GROUP_ID: `${h.prefix}.router`, LOG_LEVEL: 'warn', ...o.env });
    await waitCount(predictions, warmup + o.count, 1_200_000);
    const times = predictions.items.map((p) => p.value.predicted_at).sort((a, b) => a - b);
    const measured = times.slice(warmup);
    const seconds = ((measured[measured.length - 1] ?? 0) - (times[warmup - 1] ?? 0)) / 1000;
    const ips = measured.length / seconds;
    o.log(`  pipeline batch ${o.batchSize}: ${ips.toFixed(1)} images/s over ${measured.length} images`);
    if (o.latencyLoad <= 0) return { ips };

    const rate = ips * o.latencyLoad;
    const before = predictions.items.length;
    const pacer = new Pacer(rate);
    const step = Math.max(1, Math.round(rate / 50));
    const total = Math.round(rate * o.latencySeconds);
    for (let sent = 0; sent < total; sent += step) {
      await pacer.next(step);
      await h.publish(requestsFor(o.uris, step, sent));
    }
    const sentCount = Math.ceil(total / step) * step;
    await waitCount(predictions, before + sentCount, 300_000);
    const latencies = predictions.items.slice(before).map((p) => p.value.timings.total_ms);
    const latency = { ...latencyPercentiles(latencies), offered_rate: rate, samples: latencies.length };
    o.log(`  latency at ${rate.toFixed(0)}/s offered: p50 ${latency.p50.toFixed(0)} ms, p95 ${latency.p95.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms`);
    return { ips, latency };
  } finally {
    await h.close();
  }
}
