import type { Producer } from 'kafkajs';
import { HEADER } from '../../platform/headers.ts';
import type { AvroSerde } from '../../platform/schema-registry.ts';
import { newTraceparent, TRACEPARENT } from '../../platform/trace.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';

/**
 * The record key of a window's DriftReport. Windows closed after the last snapshot are closed and published
 * again after a crash, under the same key: readers keep the latest report per key (the replayed window may
 * differ slightly when predictions from several partitions interleave differently the second time).
 */
export function reportKey(s: WindowSummary): string {
  return [s.model_name, s.model_version, s.variant, s.experiment_id ?? '-', String(s.window_index)].map(encodeURIComponent).join('/');
}

/** Publishes one DriftReport (schemas/drift-report.avsc) per closed window; a WindowSummary is one field for field. */
export class ReportPublisher {
  constructor(private readonly producer: Producer, private readonly serde: AvroSerde, private readonly topic: string) {}

  async publish(summaries: readonly WindowSummary[]): Promise<void> {
    if (summaries.length === 0) return;
    const messages = await Promise.all(summaries.map(async (s) => ({
      key: reportKey(s),
      value: await this.serde.encode(this.topic, 'DriftReport', s),
      headers: { [TRACEPARENT]: newTraceparent(), [HEADER.modelVersion]: s.model_version, [HEADER.shadow]: String(s.variant === 'shadow') },
    })));
    await this.producer.send({ topic: this.topic, acks: -1, messages });
  }
}
