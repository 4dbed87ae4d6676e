import { latencyPercentiles } from '../drift-monitor/analytics/stats.ts';
import type { Prediction } from '../inference-consumers/service/prediction.ts';

export interface VersionSummary {
  version: string;
  predictions: number;
  shadow: number;
  accuracy: number;
  manifestAccuracy: number;
  latencyMs: { p50: number; p95: number; p99: number };
  meanBatchSize: number;
}

/** Pure: per-version counts, accuracy against known labels and end-to-end latency percentiles. */
export function summarise(predictions: Prediction[], labelOf: (requestId: string) => number | undefined, manifestAccuracy: Record<string, number>): VersionSummary[] {
  const versions = [...new Set(predictions.map((p) => p.model_version))].sort();
  return versions.map((version) => {
    const mine = predictions.filter((p) => p.model_version === version);
    const served = mine.filter((p) => !p.shadow);
    const labelled = served.filter((p) => labelOf(p.request_id) !== undefined);
    const correct = labelled.filter((p) => p.predicted_index === labelOf(p.request_id)).length;
    return {
      version,
      predictions: served.length,
      shadow: mine.length - served.length,
      accuracy: labelled.length > 0 ? correct / labelled.length : NaN,
      manifestAccuracy: manifestAccuracy[version] ?? NaN,
      latencyMs: served.length > 0 ? latencyPercentiles(served.map((p) => p.timings.total_ms)) : { p50: NaN, p95: NaN, p99: NaN },
      meanBatchSize: served.reduce((s, p) => s + p.batch_size, 0) / Math.max(1, served.length),
    };
  });
}

export function formatSummary(rows: VersionSummary[], deadLetters: number): string {
  const pct = (x: number) => (Number.isNaN(x) ? '   -  ' : `${(x * 100).toFixed(2)}%`);
  const ms = (x: number) => `${x.toFixed(0)} ms`.padStart(8);
  const lines = [
    'version  predictions  accuracy  (manifest)  latency p50      p95      p99  mean batch',
    ...rows.map((r) => `${r.version.padEnd(8)} ${String(r.predictions).padStart(11)}  ${pct(r.accuracy).padStart(8)}  (${pct(r.manifestAccuracy)})  ${ms(r.latencyMs.p50)} ${ms(r.latencyMs.p95)} ${ms(r.latencyMs.p99)}  ${r.meanBatchSize.toFixed(1).padStart(10)}`),
    `dead letters: ${deadLetters}`,
  ];
  return lines.join('\n');
}
