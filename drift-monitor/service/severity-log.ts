/** Which closed windows change a stream's severity, for one structured log line per change. */
import type { Severity } from '../analytics/psi.ts';
import { streamKey, type StreamId } from '../analytics/stream-id.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';

export const SEVERITY_LEVEL: Record<Severity, number> = { stable: 0, moderate: 1, significant: 2 };

export interface SeverityChange {
  summary: WindowSummary;
  from: Severity;
  to: Severity;
  rose: boolean;
}

/**
 * Remembers each stream's severity (of windows that had a reference to compare with) and reports the windows
 * that change it. A stream's first compared window counts as a change from 'stable' only when it is worse.
 */
export class SeverityTracker {
  private readonly last = new Map<string, Severity>();

  /** Seeds the memory from restored history without reporting anything. */
  seed(history: Iterable<WindowSummary>): void {
    for (const s of history) if (s.metrics.length > 0) this.last.set(streamKey(s), s.severity);
  }

  /** Drops retired streams (a stream seen again starts from 'stable', like a new one). */
  forget(streams: Iterable<StreamId>): void {
    for (const id of streams) this.last.delete(streamKey(id));
  }

  observe(summary: WindowSummary): SeverityChange | null {
    if (summary.metrics.length === 0) return null;
    const key = streamKey(summary);
    const from = this.last.get(key) ?? 'stable';
    this.last.set(key, summary.severity);
    if (from === summary.severity) return null;
    return { summary, from, to: summary.severity, rose: SEVERITY_LEVEL[summary.severity] > SEVERITY_LEVEL[from] };
  }
}
