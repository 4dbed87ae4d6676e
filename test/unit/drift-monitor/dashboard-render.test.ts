import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import { applyPrediction, createDriftState } from '../../../drift-monitor/analytics/drift-state.ts';
import { esc, renderDashboard, renderPsiChart } from '../../../drift-monitor/dashboard/render.js';
import { DASHBOARD_CTX, T0, populatedDriftState, prediction } from './fixtures.ts';

const OK = { ok: true, text: 'live' };
const view = () => buildDashboardState(populatedDriftState(), DASHBOARD_CTX, T0);
const count = (html: string, pattern: RegExp) => html.match(pattern)?.length ?? 0;

describe('dashboard rendering', () => {
  it('fills exactly the containers that index.html has', () => {
    const html = readFileSync(new URL('../../../drift-monitor/dashboard/index.html', import.meta.url), 'utf8');
    const ids = Object.keys(renderDashboard(view(), OK));
    for (const id of ids) expect(html).toContain(`id="${id}"`);
  });

  it('draws one polyline per stream with closed windows, with its point count, and both thresholds', () => {
    const state = view();
    const svg = renderPsiChart(state, 'predicted_class');
    const polylines = [...svg.matchAll(/<polyline [^>]*data-points="(\d+)"/g)].map((m) => Number(m[1]));
    // Version 1: 3 windows against the manifest. Version 2 served: its first window became the version's
    // warm-up baseline, so 2; the shadow closes its first window after that baseline exists, so 3.
    expect(polylines).toEqual([3, 2, 3]);
    expect(count(svg, /data-threshold="0\.1"/g)).toBe(1);
    expect(count(svg, /data-threshold="0\.25"/g)).toBe(1);
  });

  it('draws class bars, accuracy error bars, latency bars and the A/B result', () => {
    const sections = renderDashboard(view(), OK);
    expect(count(sections['class-chart']!, /data-kind="current"/g)).toBe(12); // 3 streams × 4 classes
    expect(count(sections['class-chart']!, /data-kind="reference"/g)).toBe(12);
    expect(count(sections['accuracy-chart']!, /class="errorbar"/g)).toBe(9); // 3 lines per stream
    expect(count(sections['latency-chart']!, /data-quantile=/g)).toBe(9);
    expect(sections['ab-results']).toContain('data-significant="true"');
    expect(count(sections.streams!, /data-testid="severity-badge"/g)).toBe(3);
  });

  it('says so when there is nothing to show yet', () => {
    const sections = renderDashboard(buildDashboardState(createDriftState(), DASHBOARD_CTX, T0), OK);
    expect(sections.streams).toContain('No predictions yet');
    expect(sections['accuracy-chart']).toContain('No feedback joined yet');
    expect(count(sections['psi-chart']!, /<polyline/g)).toBe(0);
  });

  it('escapes names and labels that come from the pipeline', () => {
    const state = createDriftState();
    const hostile = '<img src=x onerror=alert(1)>';
    for (let i = 0; i < 10; i++) applyPrediction(state, prediction({ model_name: hostile, predicted_label: `"${hostile}` }), DASHBOARD_CTX);
    const html = Object.values(renderDashboard(buildDashboardState(state, DASHBOARD_CTX, T0), OK)).join('');
    expect(html).not.toContain('<img');
    expect(html).toContain(esc(hostile));
  });
});
