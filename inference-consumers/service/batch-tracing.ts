/**
 * Spans of one inference chunk (issue 19). A consumer that batches many requests has one chunk span and as many
 * parent traces, which the messaging conventions model with links: the chunk span ("process <topic>") links to
 * every request in it, and holds the model call. Each request also gets its own span in its own trace, child of
 * the router's send span, so that one request's trace shows its fetch, its preprocessing, the model call it shared
 * (linked to the chunk's) and the send of its prediction.
 */
import type { KafkaMessage } from 'kafkajs';

import { HEADER, headerString } from '../../platform/headers.ts';
import { TRACEPARENT } from '../../platform/trace.ts';
import { messagingAttributes, messagingSpanName } from '../../platform/messaging-spans.ts';
import {
  inSpan,
  recordFailure,
  spanContextOf,
  SpanKind,
  startChildSpan,
  startProcessSpan,
  startRootSpan,
  tracingEnabled,
  type Link,
  type Span,
} from '../../platform/tracing.ts';
import type { BatchItem } from './process-batch.ts';

export type ItemStage = 'fetch' | 'preprocess';

/** What processBatch calls around its stages; absent when tracing is off. */
export interface BatchTracer {
  stage<T>(item: BatchItem, stage: ItemStage, fn: () => Promise<T>): Promise<T>;
  /** The one model call of the batch made of `items`. */
  modelCall<T>(items: readonly BatchItem[], fn: () => Promise<T>): Promise<T>;
}

export interface ChunkSpans extends BatchTracer {
  chunk: Span;
  /** The request's own span (undefined for a record that could not be decoded). */
  requestSpan(message: KafkaMessage): Span | undefined;
  /** Ends every request span and the chunk span; the failed ones marked with their error. */
  end(failures: ReadonlyMap<KafkaMessage, Error>): void;
}

export interface ChunkTraceInfo {
  topic: string;
  partition: number;
  consumerGroup: string;
  model: string;
  version: string;
}

/** Undefined when tracing is off, so an untraced consumer does no per-record work for it. */
export function startChunkSpans(records: readonly KafkaMessage[], decoded: readonly KafkaMessage[], info: ChunkTraceInfo): ChunkSpans | undefined {
  if (!tracingEnabled()) return undefined;
  const chunk = startRootSpan(messagingSpanName('process', info.topic), SpanKind.CONSUMER);
  // The chunk starts a trace of its own, kept by the sampler's ratio alone: its attributes (which the SDK checks
  // before sampling) and the links read from every record's traceparent are built only for a span that is kept
  // (1 % of chunks by default), since for the others they were wasted per-chunk and per-record work.
  if (chunk.isRecording()) {
    chunk.setAttributes({
      ...messagingAttributes('process', { topic: info.topic, partition: info.partition, consumerGroup: info.consumerGroup, batchSize: records.length }),
      'imgpipe.model.name': info.model,
      'imgpipe.model.version': info.version,
    });
    chunk.addLinks(recordLinks(records));
  }
  const requests = new Map<KafkaMessage, Span>();
  // The requests whose spans are recorded (1 % by default): only they have stages, model calls and ends to record.
  const recorded = new Map<KafkaMessage, Span>();
  for (const message of decoded) {
    const span = startProcessSpan({
      topic: info.topic, partition: info.partition, offset: message.offset, key: message.key,
      consumerGroup: info.consumerGroup, traceparent: headerString(message.headers, TRACEPARENT),
    });
    requests.set(message, span);
    if (!span.isRecording()) continue;
    span.addLink({ context: chunk.spanContext() });
    const requestId = headerString(message.headers, HEADER.requestId);
    if (requestId !== undefined) span.setAttribute('imgpipe.request_id', requestId);
    recorded.set(message, span);
  }
  let modelSpan: Span | undefined;
  return {
    chunk,
    requestSpan: (message) => requests.get(message),
    stage(item, stage, fn) {
      const parent = recorded.get(item.message);
      if (parent === undefined) return fn();
      const span = startChildSpan(stage, parent, { kind: stage === 'fetch' ? SpanKind.CLIENT : SpanKind.INTERNAL });
      if (stage === 'fetch') span.setAttribute('url.scheme', item.request.uri.split(':')[0] ?? '');
      return inSpan(span, fn);
    },
    async modelCall(items, fn) {
      const started = Date.now();
      const batchSize = items.length;
      modelSpan = startChildSpan(`inference ${info.model}`, chunk, {
        attributes: { 'imgpipe.model.name': info.model, 'imgpipe.model.version': info.version, 'imgpipe.batch_size': batchSize },
      });
      try {
        return await inSpan(modelSpan, fn);
      } finally {
        // The shared call, shown in each recorded request's own trace too, linked to the one in the chunk's trace.
        const ended = Date.now();
        for (const item of items) {
          const parent = recorded.get(item.message);
          if (parent === undefined) continue;
          const span = startChildSpan(`inference ${info.model}`, parent, {
            startTime: started, links: [{ context: modelSpan?.spanContext() ?? chunk.spanContext() }],
            attributes: { 'imgpipe.batch_size': batchSize },
          });
          span.end(ended);
        }
      }
    },
    end(failures) {
      for (const [message, span] of recorded) {
        const failure = failures.get(message);
        if (failure) recordFailure(span, failure, (failure as { errorClass?: string }).errorClass);
        span.end();
      }
      chunk.end();
    },
  };
}

/** A link to each record's request span, at its offset. */
function recordLinks(records: readonly KafkaMessage[]): Link[] {
  const links: Link[] = [];
  for (const record of records) {
    const linked = spanContextOf(headerString(record.headers, TRACEPARENT));
    if (linked) links.push({ context: linked, attributes: { 'messaging.kafka.offset': Number(record.offset) } });
  }
  return links;
}
