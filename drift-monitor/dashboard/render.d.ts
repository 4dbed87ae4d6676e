// Types of render.js (plain JavaScript so the browser loads it without a build step).
import type { DashboardState, DashboardStream } from '../analytics/dashboard-state.ts';
import type { PsiMetricName } from '../analytics/window-summary.ts';

export interface PollStatus {
  ok: boolean;
  text: string;
}

export interface StreamStyle {
  color: string;
  /** SVG stroke-dasharray; shadows are dashed. */
  dash: string;
}

export declare const PSI_METRICS: readonly PsiMetricName[];
export declare function esc(value: unknown): string;
export declare function streamStyles(state: DashboardState): Map<string, StreamStyle>;
export declare function renderLegend(state: DashboardState): string;
export declare function renderHeader(state: DashboardState, status: PollStatus): string;
export declare function renderStreamsTable(state: DashboardState): string;
export declare function renderPsiChart(state: DashboardState, metric: PsiMetricName): string;
export declare function renderPsiCharts(state: DashboardState): string;
export declare function renderClassChart(stream: DashboardStream, style: StreamStyle): string;
export declare function renderClassCharts(state: DashboardState): string;
export declare function renderAccuracyChart(state: DashboardState): string;
export declare function renderAbResults(state: DashboardState): string;
export declare function renderAgreement(state: DashboardState): string;
export declare function renderLatencyChart(state: DashboardState): string;
/** Every section's inner HTML, by the id of its container in index.html. */
export declare function renderDashboard(state: DashboardState, status: PollStatus): Record<string, string>;
