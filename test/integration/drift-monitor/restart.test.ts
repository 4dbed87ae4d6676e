/**
 * The drift monitor's state survives a crash: it is SIGKILLed mid-window while predictions and feedback keep
 * arriving, started again, and the final counts equal exactly what was published (none lost, none counted twice),
 * with the accuracy still equal to the direct computation. Under exactly-once delivery (the default) reports are
 * published in the snapshot's transaction, so every window is reported exactly once, the kill notwithstanding.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, expect, it } from 'vitest';
import type { DashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import { reportKey } from '../../../drift-monitor/service/report-publisher.ts';
import { PipelineHarness } from '../../../stack/pipeline-harness.ts';
import {
  directCorrect, metricValue, monitorState, predict, publishFeedback, publishPredictions, releaseModels, requestsFor, samples, waitForState,
} from './helpers.ts';

const WINDOW = 100;
const TOTAL = 1_030;
const STEP = 30;
const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
  await releaseModels();
});

const counted = (s: DashboardState, variant: string): number =>
  s.streams.filter((st) => st.variant === variant).reduce((n, st) => n + st.windows_closed * WINDOW + st.open_count, 0);

it('loses no record and counts none twice when killed with SIGKILL mid-window', async () => {
  await h.connect();
  const set = await samples('lossless', TOTAL, 3_000);
  const requests = requestsFor(set);
  const served = await predict(set, requests, { version: 'v1', experimentId: 'shadow-v2', shadow: false });
  const shadow = await predict(set, requests, { version: 'v2', experimentId: 'shadow-v2', shadow: true });
  const reports = await h.collect<WindowSummary>(h.clients.topics.drift);
  // Small chunks and frequent snapshots, so the kill lands between snapshots with work in flight.
  const env = { DRIFT_WINDOW_SIZE: String(WINDOW), DRIFT_SNAPSHOT_INTERVAL_MS: '500', DRIFT_MAX_BATCH_SIZE: '20' };
  const first = await h.start('drift-monitor-1', 'drift-monitor', env);

  let published = 0;
  const publishing = (async () => {
    for (; published < TOTAL; published += STEP) {
      const slice = [published, Math.min(published + STEP, TOTAL)] as const;
      await publishPredictions(h, [...served.slice(...slice), ...shadow.slice(...slice)]);
      await publishFeedback(h, requests.slice(...slice));
      await new Promise((r) => setTimeout(r, 60));
    }
  })();

  await waitForState(first, (s) => counted(s, 'served') >= 450, 120_000, '450 served predictions counted');
  const snapshotBytes = metricValue(await (await fetch(`${first.opsUrl}/metrics`)).text(), 'drift_snapshot_bytes');
  const beforeKill = await monitorState(first);
  await first.kill();
  const atKill = { served: counted(beforeKill, 'served'), shadow: counted(beforeKill, 'shadow'), joined: beforeKill.join.joined, published };
  // Records keep arriving while the monitor is down.
  await new Promise((r) => setTimeout(r, 1_500));

  const second = await h.start('drift-monitor-2', 'drift-monitor', env);
  const log = await readFile(second.logFile, 'utf8');
  const restored = log.split('\n').find((line) => line.includes('state restored from snapshot'));
  expect(restored, `no restore line in ${second.logFile}`).toBeDefined();
  const positions = JSON.parse(restored!).positions as Record<string, Record<string, string>>;
  const inSnapshot = Object.values(positions[h.clients.topics.predictions] ?? {}).reduce((n, offset) => n + Number(offset), 0);
  await publishing;

  const final = await waitForState(second, (s) => counted(s, 'served') >= TOTAL && counted(s, 'shadow') >= TOTAL && s.join.joined >= 2 * TOTAL,
    120_000, 'every record counted after the restart');
  // Anything counted twice would show up by now.
  await new Promise((r) => setTimeout(r, 2_000));
  const settled = await monitorState(second);
  await reports.waitFor((items) => new Set(items.map((r) => reportKey(r.value))).size >= 2 * Math.floor(TOTAL / WINDOW), 30_000);
  const latest = new Map(reports.items.map((r) => [reportKey(r.value), r.value]));

  process.stdout.write(`${JSON.stringify({
    test: 'drift-restart', published: TOTAL, window: WINDOW, at_kill: atKill, predictions_in_snapshot: inSnapshot,
    redone_after_restart: atKill.served + atKill.shadow - inSnapshot, snapshot_bytes: snapshotBytes,
    final: settled.streams.map((s) => ({ stream: s.title, windows_closed: s.windows_closed, open: s.open_count, accuracy: `${s.accuracy?.hits}/${s.accuracy?.trials}` })),
    join: settled.join, report_records: reports.items.length, report_keys: latest.size,
  })}\n`);

  expect(first.child.signalCode).toBe('SIGKILL');
  expect(atKill.served).toBeLessThan(TOTAL);
  expect([counted(settled, 'served'), counted(settled, 'shadow'), settled.join.joined]).toEqual([counted(final, 'served'), counted(final, 'shadow'), final.join.joined]);
  for (const [variant, predictions] of [['served', served], ['shadow', shadow]] as const) {
    const stream = settled.streams.find((s) => s.variant === variant)!;
    expect({ variant, windows: stream.windows_closed, open: stream.open_count }).toEqual({ variant, windows: Math.floor(TOTAL / WINDOW), open: TOTAL % WINDOW });
    expect({ variant, hits: stream.accuracy?.hits, trials: stream.accuracy?.trials }).toEqual({ variant, hits: directCorrect(predictions, requests), trials: TOTAL });
    const windows = [...latest.values()].filter((r) => r.variant === variant).sort((a, b) => a.window_index - b.window_index);
    expect(windows.map((r) => r.window_index)).toEqual([...Array(Math.floor(TOTAL / WINDOW)).keys()]);
    expect(windows.every((r) => r.count === WINDOW)).toBe(true);
  }
  expect(settled.join).toMatchObject({ joined: 2 * TOTAL, duplicates: 0, pending_requests: TOTAL });
  expect(reports.items.length).toBe(latest.size);
}, 400_000);
