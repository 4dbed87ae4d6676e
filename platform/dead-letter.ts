import type { KafkaMessage, Producer } from 'kafkajs';
import type { PipelineError } from './errors.ts';
import { HEADER, headersToStrings } from './headers.ts';
import type { AvroSerde } from './schema-registry.ts';
import { childTraceparent, TRACEPARENT } from './trace.ts';

export interface DeadLetter {
  original_topic: string;
  original_partition: number;
  original_offset: number;
  original_key: Buffer | null;
  original_value: Buffer | null;
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

/** Pure: the DeadLetter value for a record, keeping its original bytes and headers for replay. */
export function toDeadLetter(f: FailedRecord, service: string, now = Date.now()): DeadLetter {
  return {
    original_topic: f.topic,
    original_partition: f.partition,
    original_offset: Number(f.message.offset),
    original_key: f.message.key ?? null,
    original_value: f.message.value ?? null,
    original_headers: headersToStrings(f.message.headers),
    stage: f.error.stage,
    error_class: f.error.errorClass,
    error_message: f.error.message.slice(0, 2_000),
    request_id: f.requestId ?? null,
    model_version: f.modelVersion ?? null,
    attempts: f.attempts ?? 1,
    service,
    failed_at: now,
  };
}

/** Produces dead letters to the DLQ topic; the caller awaits it before committing the batch's offsets. */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly serde: AvroSerde,
    private readonly topic: string,
    private readonly service: string,
  ) {}

  async publish(failed: FailedRecord[]): Promise<void> {
    if (failed.length === 0) return;
    const messages = await Promise.all(failed.map(async (f) => {
      const headers = headersToStrings(f.message.headers);
      return {
        key: f.message.key ?? null,
        value: await this.serde.encode(this.topic, 'DeadLetter', toDeadLetter(f, this.service)),
        headers: {
          [TRACEPARENT]: childTraceparent(headers[TRACEPARENT]),
          [HEADER.stage]: f.error.stage,
          ...(f.requestId ? { [HEADER.requestId]: f.requestId } : {}),
        },
      };
    }));
    await this.producer.send({ topic: this.topic, messages });
  }
}
