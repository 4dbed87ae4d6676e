import type { FailedRecord } from '../../platform/dead-letter.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';

/**
 * Outputs of records already counted in the state, kept until the broker acknowledges them. A snapshot is only
 * written together with them (exactly-once) or after them (at-least-once), so a restored state never lacks the
 * reports and dead letters of what it counted.
 */
export class Outbox {
  private reports: WindowSummary[] = [];
  private deadLetters: FailedRecord[] = [];

  add(reports: readonly WindowSummary[], deadLetters: readonly FailedRecord[]): void {
    this.reports.push(...reports);
    this.deadLetters.push(...deadLetters);
  }

  get empty(): boolean {
    return this.reports.length === 0 && this.deadLetters.length === 0;
  }

  /**
   * Hands everything held to `publish` (not called when empty, unless `evenIfEmpty`); removes it once `publish`
   * resolves, keeps it when it throws.
   */
  async flush(publish: (reports: readonly WindowSummary[], deadLetters: readonly FailedRecord[]) => Promise<void>, evenIfEmpty = false): Promise<void> {
    const reports = this.reports;
    const deadLetters = this.deadLetters;
    if (!evenIfEmpty && reports.length === 0 && deadLetters.length === 0) return;
    await publish(reports, deadLetters);
    this.reports = this.reports.slice(reports.length);
    this.deadLetters = this.deadLetters.slice(deadLetters.length);
  }
}
