import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../../../../platform/config.ts';
import type { WindowSummary } from '../../../../drift-monitor/analytics/window-summary.ts';
import { defaultManifestPaths, loadReferences } from '../../../../drift-monitor/service/references.ts';
import { reportKey } from '../../../../drift-monitor/service/report-publisher.ts';
import { SerialQueue } from '../../../../drift-monitor/service/serial-queue.ts';
import { readDriftSettings } from '../../../../drift-monitor/service/settings.ts';
import { SeverityTracker } from '../../../../drift-monitor/service/severity-log.ts';
import { REFERENCE } from '../fixtures.ts';

function settings(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const s = readDriftSettings(reader);
  reader.done();
  return s;
}

describe('drift-monitor settings', () => {
  it('default to count windows of 500, thresholds 0.1/0.25, a one-hour horizon and ops port 9103', () => {
    const s = settings({});
    expect(s.drift.window.policy).toEqual({ kind: 'count', size: 500 });
    expect(s.drift.window.thresholds).toEqual({ moderate: 0.1, significant: 0.25 });
    expect(s.drift.join.horizonMs).toBe(3_600_000);
    expect(s.ops.port).toBe(9103);
    expect(s.monitorId).toBe('drift-monitor');
    expect(s.manifestPaths).toBeUndefined();
  });

  it('read time windows, thresholds and manifests', () => {
    const s = settings({ DRIFT_WINDOW_KIND: 'time', DRIFT_WINDOW_SECONDS: '30', DRIFT_PSI_MODERATE: '0.2', DRIFT_PSI_SIGNIFICANT: '0.5', DRIFT_MANIFESTS: 'a.json, b.json' });
    expect(s.drift.window.policy).toEqual({ kind: 'time', lengthMs: 30_000 });
    expect(s.drift.window.thresholds).toEqual({ moderate: 0.2, significant: 0.5 });
    expect(s.manifestPaths).toEqual(['a.json', 'b.json']);
  });

  it('name every bad variable at once', () => {
    const reader = new EnvReader({ DRIFT_WINDOW_KIND: 'sliding', DRIFT_WINDOW_SIZE: '0', DRIFT_PSI_MODERATE: '0.3', DRIFT_PSI_SIGNIFICANT: '0.2', DRIFT_MONITOR_ID: 'a/b' });
    readDriftSettings(reader);
    let error: ConfigError | undefined;
    try {
      reader.done();
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.problems.map((p) => p.split('=')[0])).toEqual(['DRIFT_MONITOR_ID', 'DRIFT_WINDOW_KIND', 'DRIFT_WINDOW_SIZE', 'DRIFT_PSI_SIGNIFICANT']);
  });
});

describe('model references from manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drift-refs-'));
  const manifest = (name: string, version: string) => ({
    name, version, description: '', created_at: '2025-01-01', file: 'model.onnx', sha256: 'a'.repeat(64), architecture: 'cnn',
    framework: { exporter: 'torch', opset: 17 },
    input: { name: 'input', shape: [-1, 1, 28, 28], layout: 'NCHW', channels: 1, width: 28, height: 28, resize: 'fill', kernel: 'lanczos3', scale: 255, mean: [0.5], std: [0.5], dtype: 'float32' },
    output: { name: 'logits', kind: 'logits', num_classes: 4 },
    labels: REFERENCE.labels,
    lineage: { dataset: 'd', dataset_files: {}, training_script: 't', code_revision: 'r', seed: 1, epochs: 1, train_samples: 1, validation_samples: 1 },
    metrics: { test_accuracy: 0.9, test_samples: 1, validation_accuracy: 0.9, per_class_accuracy: {} },
    reference: REFERENCE.reference,
  });
  for (const v of ['v1', 'v2']) {
    mkdirSync(join(dir, 'digits', v), { recursive: true });
    writeFileSync(join(dir, 'digits', v, 'manifest.json'), JSON.stringify(manifest('digits', v)));
  }
  mkdirSync(join(dir, 'loader'));

  it('finds every <name>/<version>/manifest.json and looks references up by name and version', async () => {
    const paths = defaultManifestPaths(dir);
    expect(paths.map((p) => p.slice(dir.length))).toEqual(['/digits/v1/manifest.json', '/digits/v2/manifest.json']);
    const refs = await loadReferences(paths);
    expect(refs.models).toEqual(['digits/v1', 'digits/v2']);
    expect(refs.lookup('digits', 'v2')?.reference.predicted_class.probabilities).toEqual([0.4, 0.3, 0.2, 0.1]);
    expect(refs.lookup('digits', 'v3')).toBeUndefined();
  });

  it('refuses a missing file, an invalid manifest and two manifests of one version', async () => {
    await expect(loadReferences([join(dir, 'nope.json')])).rejects.toThrow(/cannot read model manifest .*nope.json \(ENOENT\); fix DRIFT_MANIFESTS/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...manifest('digits', 'v9'), reference: { source: 'x' } }));
    await expect(loadReferences([join(dir, 'bad.json')])).rejects.toThrow(/reference.samples/);
    const copy = join(dir, 'copy.json');
    writeFileSync(copy, JSON.stringify(manifest('digits', 'v1')));
    await expect(loadReferences([join(dir, 'digits', 'v1', 'manifest.json'), copy])).rejects.toThrow(/digits\/v1 has two manifests/);
  });
});

describe('small service parts', () => {
  const summary = (severity: WindowSummary['severity'], window_index: number, compared = true) =>
    ({ model_name: 'm', model_version: 'v1', variant: 'served', experiment_id: null, window_index, severity, metrics: compared ? [{ name: 'brightness', psi: 1, severity, reference: 'manifest' }] : [] }) as unknown as WindowSummary;

  it('report keys name the stream and window, so a replayed report replaces the first', () => {
    expect(reportKey(summary('stable', 7))).toBe('m/v1/served/-/7');
    expect(reportKey({ ...summary('stable', 0), experiment_id: 'a/b' })).toBe('m/v1/served/a%2Fb/0');
  });

  it('severity changes are reported once per change, rises and falls apart', () => {
    const t = new SeverityTracker();
    expect(t.observe(summary('stable', 0))).toBeNull();
    expect(t.observe(summary('stable', 1, false))).toBeNull();
    expect(t.observe(summary('significant', 2))).toMatchObject({ from: 'stable', to: 'significant', rose: true });
    expect(t.observe(summary('significant', 3))).toBeNull();
    expect(t.observe(summary('moderate', 4))).toMatchObject({ from: 'significant', to: 'moderate', rose: false });
    const seeded = new SeverityTracker();
    seeded.seed([summary('significant', 0)]);
    expect(seeded.observe(summary('significant', 1))).toBeNull();
  });

  it('the serial queue runs tasks one at a time and goes on after a failure', async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    const slow = q.run(async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('slow');
    });
    const failing = q.run(() => {
      order.push('fail');
      throw new Error('boom');
    });
    const fast = q.run(() => order.push('fast'));
    await slow;
    await expect(failing).rejects.toThrow('boom');
    await fast;
    expect(order).toEqual(['slow', 'fail', 'fast']);
  });
});
