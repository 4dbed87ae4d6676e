import { describe, expect, it } from 'vitest';
import { buildDashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import { DASHBOARD_CTX, T0, populatedDriftState } from './fixtures.ts';

describe('buildDashboardState', () => {
  it('describes every stream with its PSI history, classes, latency and accuracy', () => {
    const view = buildDashboardState(populatedDriftState(), DASHBOARD_CTX, T0 + 1000);
    expect(view.generated_at).toBe(T0 + 1000);
    expect(view.streams.map((s) => [s.model_version, s.variant, s.reference, s.windows_closed])).toEqual([
      ['1', 'served', 'manifest', 3],
      ['2', 'served', 'warmup', 3],
      ['2', 'shadow', 'warmup', 3],
    ]);
    const [v1, v2] = view.streams;
    expect(v1!.psi.predicted_class).toHaveLength(3);
    expect(v1!.psi.confidence.map((p) => p.window_index)).toEqual([0, 1, 2]);
    // Version 2's first window is its warm-up baseline: nothing to plot for it.
    expect(v2!.psi.predicted_class).toHaveLength(2);
    expect(v1!.classes!.labels).toEqual(['class-0', 'class-1', 'class-2', 'class-3']);
    expect(v1!.classes!.reference).toEqual([0.4, 0.3, 0.2, 0.1]);
    expect(v1!.classes!.current).toEqual([0.3, 0.3, 0.2, 0.2]); // window 2: i = 20..29, i % 4
    expect(v1!.latency).toEqual({ p50: 12, p95: 12, p99: 12 });
    expect(v1!.accuracy).toMatchObject({ hits: 15, trials: 30, rate: 0.5 });
    expect(v1!.severity).not.toBeNull();
  });

  it('tests served versions of one experiment against each other and reports shadow agreement', () => {
    const view = buildDashboardState(populatedDriftState(), DASHBOARD_CTX, T0);
    expect(view.comparisons).toHaveLength(1);
    const [ab] = view.comparisons;
    expect(ab).toMatchObject({ experiment_id: 'exp', accuracyA: 0.5, accuracyB: 1, difference: -0.5, significant: true });
    expect(ab!.a_title).toBe('digits 1 · served · exp');
    expect(view.agreement).toHaveLength(1);
    // served i % 4 vs shadow i % 3 agree for i % 12 in {0, 1, 2}: i = 0,1,2,12,13,14,24,25,26 → 9 of 30
    expect(view.agreement[0]).toMatchObject({ hits: 9, trials: 30, rate: 0.3 });
    expect(view.join.joined).toBe(90);
  });

  it('is plain JSON', () => {
    const view = buildDashboardState(populatedDriftState(), DASHBOARD_CTX, T0);
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });
});
