import type { KafkaMessage } from 'kafkajs';
import type { PipelineError } from './errors.ts';
import { HEADER, headersToStrings } from './headers.ts';
import type { OutgoingRecord } from './produce-budget.ts';
import type { AvroSerde } from './schema-registry.ts';
import { childTraceparent, TRACEPARENT } from './trace.ts';
import { messagingAttributes, messagingSpanName } from './messaging-spans.ts';
import { contextFromTraceparent, recordPipelineFailure, SpanKind, spanTraceparent, tracer } from './tracing.ts';

export interface DeadLetter {
  original_topic: string;
  original_partition: number;
  original_offset: number;
  original_key: Buffer | null;
  original_value: Buffer | null;
  original_value_truncated: boolean;
  original_value_size: number | null;
  original_headers: Record<string, string>;
  stage: string;
  error_class: string;
  error_message: string;
  request_id: string | null;
  model_version: string | null;
  attempts: number;
  service: string;
  failed_at: number;
}

export interface FailedRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
  error: PipelineError;
  requestId?: string | undefined;
  modelVersion?: string | undefined;
  attempts?: number;
}

/** What a dead letter keeps of the original record, so that it always fits on the dead-letter topic. */
export const DEAD_LETTER_OVERHEAD_BYTES = 64 * 1_024;

export interface DeadLetterLimits {
  /** The original value is kept up to this many bytes (the rest is cut, and the dead letter says so). */
  maxValueBytes: number;
}

/**
 * Keys, header names and values, messages and ids are producer-controlled too; these caps, in UTF-8 bytes as the
 * record carries them, keep everything but the value under DEAD_LETTER_OVERHEAD_BYTES. Counted in characters they
 * would not: a header of invalid UTF-8 decodes to U+FFFD, 3 bytes per byte it replaces.
 */
const MAX_KEY_BYTES = 1_024;
const MAX_HEADER_NAME_BYTES = 128;
const MAX_HEADER_VALUE_BYTES = 512;
const MAX_HEADERS = 32;
const MAX_MESSAGE_BYTES = 2_000;
const MAX_ID_BYTES = 256;

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes (at least 32, room for the note saying so), never inside a
 * character.
 */
export function cutBytes(text: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most texts need no encoding to know they fit.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  const note = `…[cut from ${bytes.length} bytes]`;
  let end = Math.max(0, maxBytes - Buffer.byteLength(note));
  // Back to the start of a character: a cut sequence would decode to U+FFFD, 3 bytes again.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return `${bytes.toString('utf8', 0, end)}${note}`;
}

function cappedHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).slice(0, MAX_HEADERS).map(([name, value]) => [cutBytes(name, MAX_HEADER_NAME_BYTES), cutBytes(value, MAX_HEADER_VALUE_BYTES)]));
}

/** Pure: the DeadLetter value for a record, keeping its original bytes (up to the limit) and headers for replay. */
export function toDeadLetter(f: FailedRecord, service: string, limits: DeadLetterLimits, now = Date.now()): DeadLetter {
  const value = f.message.value ?? null;
  const truncated = value !== null && value.length > limits.maxValueBytes;
  const key = f.message.key ?? null;
  return {
    original_topic: f.topic,
    original_partition: f.partition,
    original_offset: Number(f.message.offset),
    original_key: key && key.length > MAX_KEY_BYTES ? key.subarray(0, MAX_KEY_BYTES) : key,
    original_value: truncated ? value.subarray(0, limits.maxValueBytes) : value,
    original_value_truncated: truncated,
    original_value_size: value?.length ?? null,
    original_headers: cappedHeaders(headersToStrings(f.message.headers)),
    stage: f.error.stage,
    error_class: f.error.errorClass,
    error_message: cutBytes(f.error.message, MAX_MESSAGE_BYTES),
    request_id: f.requestId ? cutBytes(f.requestId, MAX_ID_BYTES) : null,
    model_version: f.modelVersion ? cutBytes(f.modelVersion, MAX_ID_BYTES) : null,
    attempts: f.attempts ?? 1,
    service,
    failed_at: now,
  };
}

/** Encodes dead letters as records for the dead-letter topic; the caller produces them with the chunk's outputs. */
export async function deadLetterRecords(
  failed: readonly FailedRecord[],
  o: { serde: AvroSerde; topic: string; service: string; limits: DeadLetterLimits },
): Promise<OutgoingRecord[]> {
  return Promise.all(failed.map(async (f) => {
    const dead = toDeadLetter(f, o.service, o.limits);
    const headers = headersToStrings(f.message.headers);
    // The dead letter continues the failed record's trace: a failed send span says where and why it stopped.
    const span = tracer().startSpan(messagingSpanName('send', o.topic), {
      kind: SpanKind.PRODUCER,
      attributes: messagingAttributes('send', { topic: o.topic, key: dead.original_key?.toString() ?? null }),
    }, contextFromTraceparent(headers[TRACEPARENT]));
    recordPipelineFailure(span, f.error);
    span.end();
    return {
      topic: o.topic,
      key: dead.original_key,
      value: await o.serde.encode(o.topic, 'DeadLetter', dead),
      headers: {
        [TRACEPARENT]: spanTraceparent(span) ?? childTraceparent(headers[TRACEPARENT]),
        [HEADER.stage]: f.error.stage,
        ...(dead.request_id ? { [HEADER.requestId]: dead.request_id } : {}),
      },
    };
  }));
}
