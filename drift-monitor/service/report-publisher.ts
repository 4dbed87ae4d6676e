import { HEADER } from '../../platform/headers.ts';
import type { OutgoingRecord } from '../../platform/produce-budget.ts';
import type { AvroSerde } from '../../platform/schema-registry.ts';
import { newTraceparent, TRACEPARENT } from '../../platform/trace.ts';
import { spanTraceparent, startSendSpan } from '../../platform/tracing.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';

/**
 * The record key of a window's DriftReport. Under at-least-once delivery, windows closed after the last snapshot
 * are closed and published again after a crash, under the same key: readers keep the latest report per key (the
 * replayed window may differ slightly when predictions from several partitions interleave differently).
 */
export function reportKey(s: WindowSummary): string {
  return [s.model_name, s.model_version, s.variant, s.experiment_id ?? '-', String(s.window_index)].map(encodeURIComponent).join('/');
}

/** One DriftReport record (schemas/drift-report.avsc) per closed window; a WindowSummary is one field for field. */
export async function reportRecords(serde: AvroSerde, topic: string, summaries: readonly WindowSummary[]): Promise<OutgoingRecord[]> {
  return Promise.all(summaries.map(async (s) => {
    // A window summarises many requests, so its report starts a trace of its own rather than continuing one.
    const span = startSendSpan({ topic, key: reportKey(s) });
    span.setAttributes({ 'imgpipe.model.name': s.model_name, 'imgpipe.model.version': s.model_version, 'imgpipe.drift.window': s.window_index });
    span.end();
    return {
      topic,
      key: reportKey(s),
      value: await serde.encode(topic, 'DriftReport', s),
      headers: { [TRACEPARENT]: spanTraceparent(span) ?? newTraceparent(), [HEADER.modelVersion]: s.model_version, [HEADER.shadow]: String(s.variant === 'shadow') },
    };
  }));
}
