import type { EnvReader } from '../../platform/config.ts';
import { readCommonSettings, type CommonSettings } from '../../platform/service-config.ts';
import { driftConfig, type DriftConfig } from '../analytics/drift-state.ts';

export interface DriftMonitorSettings extends CommonSettings {
  /** Names this monitor's snapshot on the state topic; one running instance per id. */
  monitorId: string;
  /** Manifest files whose `reference` the windows are compared to; undefined: every models/<name>/<version>/manifest.json. */
  manifestPaths: string[] | undefined;
  drift: DriftConfig;
  snapshotIntervalMs: number;
  /** Records handed to the analytics at once. */
  maxBatchSize: number;
}

const ID = /^[a-zA-Z0-9._-]+$/;

export function readDriftSettings(env: EnvReader): DriftMonitorSettings {
  const common = readCommonSettings(env, 'drift-monitor', 9103);
  // Identifies the snapshot on the compacted state topic (key) and names the consumer group.
  const monitorId = env.string('DRIFT_MONITOR_ID', 'drift-monitor');
  env.check(ID.test(monitorId), 'DRIFT_MONITOR_ID', monitorId, 'letters, digits, ".", "_" or "-"');
  // Comma-separated manifest.json paths; unset: every models/*/*/manifest.json of this checkout.
  const manifests = env.optionalString('DRIFT_MANIFESTS');
  // count: a window closes every DRIFT_WINDOW_SIZE predictions of a stream; time: every DRIFT_WINDOW_SECONDS of predicted_at.
  const kind = env.oneOf('DRIFT_WINDOW_KIND', ['count', 'time'] as const, 'count');
  const size = env.int('DRIFT_WINDOW_SIZE', 500, { min: 1, max: 10_000_000 });
  const seconds = env.int('DRIFT_WINDOW_SECONDS', 60, { min: 1, max: 7 * 24 * 3600 });
  // PSI at or above these is moderate / significant (conventional reading 0.1 and 0.25).
  const moderate = env.number('DRIFT_PSI_MODERATE', 0.1, { min: Number.MIN_VALUE, max: 100 });
  const significant = env.number('DRIFT_PSI_SIGNIFICANT', 0.25, { min: Number.MIN_VALUE, max: 100 });
  env.check(significant > moderate, 'DRIFT_PSI_SIGNIFICANT', String(significant), `a number above DRIFT_PSI_MODERATE (${moderate})`);
  // How long (event time) a prediction waits for its feedback, or feedback for its prediction.
  const horizonSeconds = env.int('DRIFT_FEEDBACK_HORIZON_SECONDS', 3600, { min: 1, max: 30 * 24 * 3600 });
  // Requests buffered by the feedback join (~250 bytes each in memory and in the snapshot); the oldest go first beyond it.
  const maxPending = env.int('DRIFT_MAX_PENDING_REQUESTS', 100_000, { min: 1, max: 10_000_000 });
  // Without a manifest reference, the first closed windows form the baseline until it holds this many predictions.
  const warmupMinCount = env.int('DRIFT_WARMUP_MIN_COUNT', 100, { min: 1, max: 10_000_000 });
  // Closed windows per stream kept for the dashboard's PSI plots (and in the snapshot).
  const history = env.int('DRIFT_HISTORY_WINDOWS', 120, { min: 1, max: 10_000 });
  // An experiment's streams (windows, history, accuracy) are forgotten once this much event time passed without
  // a prediction of it; at least the feedback horizon, so no request of theirs still waits for its label.
  const retentionSeconds = env.int('DRIFT_STREAM_RETENTION_SECONDS', 24 * 3600, { min: 1, max: 365 * 24 * 3600 });
  env.check(retentionSeconds >= horizonSeconds, 'DRIFT_STREAM_RETENTION_SECONDS', String(retentionSeconds),
    `a number of seconds at least DRIFT_FEEDBACK_HORIZON_SECONDS (${horizonSeconds})`);
  const ok = significant > moderate;
  return {
    ...common,
    monitorId,
    manifestPaths: manifests?.split(',').map((p) => p.trim()).filter(Boolean),
    drift: driftConfig({
      window: {
        policy: kind === 'count' ? { kind, size } : { kind, lengthMs: seconds * 1000 },
        // The fallback keeps driftConfig from throwing; the EnvReader has already recorded the problem.
        thresholds: ok ? { moderate, significant } : { moderate: 0.1, significant: 0.25 },
        warmupMinCount,
      },
      join: { horizonMs: horizonSeconds * 1000, maxPendingRequests: maxPending },
      historyPerStream: history,
      // The fallback keeps driftConfig from throwing; the EnvReader has already recorded the problem.
      streamRetentionMs: Math.max(retentionSeconds, horizonSeconds) * 1000,
    }),
    // How often state + consumed offsets are written to the state topic when something changed: the most work
    // redone after a crash. Also written on graceful shutdown.
    snapshotIntervalMs: env.int('DRIFT_SNAPSHOT_INTERVAL_MS', 5_000, { min: 100, max: 3_600_000 }),
    maxBatchSize: env.int('DRIFT_MAX_BATCH_SIZE', 500, { min: 1, max: 100_000 }),
  };
}
