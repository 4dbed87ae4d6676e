import type { DeadLetterPublisher, FailedRecord } from '../../platform/dead-letter.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';
import type { ReportPublisher } from './report-publisher.ts';

/**
 * Outputs of records already counted in the state, kept until the broker acknowledges them. A snapshot is only
 * written with an empty outbox, so a restored state never lacks the reports and dead letters of what it counted.
 */
export class Outbox {
  private reports: WindowSummary[] = [];
  private deadLetters: FailedRecord[] = [];

  constructor(private readonly reportPublisher: ReportPublisher, private readonly dlq: DeadLetterPublisher) {}

  add(reports: readonly WindowSummary[], deadLetters: readonly FailedRecord[]): void {
    this.reports.push(...reports);
    this.deadLetters.push(...deadLetters);
  }

  get empty(): boolean {
    return this.reports.length === 0 && this.deadLetters.length === 0;
  }

  /** Publishes everything held; on failure keeps it for the next call and rethrows. */
  async flush(): Promise<void> {
    const reports = this.reports;
    const deadLetters = this.deadLetters;
    if (reports.length === 0 && deadLetters.length === 0) return;
    await Promise.all([this.reportPublisher.publish(reports), this.dlq.publish(deadLetters)]);
    this.reports = this.reports.slice(reports.length);
    this.deadLetters = this.deadLetters.slice(deadLetters.length);
  }
}
