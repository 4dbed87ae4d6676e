import type { Producer } from 'kafkajs';
import { HEADER } from '../platform/headers.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import { newTraceparent, TRACEPARENT } from '../platform/trace.ts';
import { recordFailure, spanTraceparent, startSendSpan } from '../platform/tracing.ts';
import type { ImageRequest } from './image-request.ts';

export interface Feedback {
  request_id: string;
  true_label: string;
  true_index: number | null;
  observed_at: number;
  source: string | null;
}

/** Publishes ImageRequests (and ground-truth Feedback) Avro-encoded through the registry. */
export class RequestPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly serde: AvroSerde,
    private readonly topics: { requests: string; feedback: string },
  ) {}

  /**
   * Resolves when the broker acknowledged every record (acks=all). Each request's trace starts here (or continues
   * the caller's active span, the gateway's HTTP request) with a send span that lasts until the acknowledgement.
   */
  async publish(requests: ImageRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const spans = requests.map((r) => startSendSpan({ topic: this.topics.requests, key: r.request_id }));
    try {
      const messages = await Promise.all(requests.map(async (r, i) => ({
        key: r.request_id,
        value: await this.serde.encode(this.topics.requests, 'ImageRequest', r),
        headers: { [TRACEPARENT]: spanTraceparent(spans[i]) ?? newTraceparent(), [HEADER.requestId]: r.request_id },
      })));
      await this.producer.send({ topic: this.topics.requests, acks: -1, messages });
    } catch (error) {
      for (const span of spans) recordFailure(span, error);
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }

  async publishFeedback(feedback: Feedback[]): Promise<void> {
    if (feedback.length === 0) return;
    const messages = await Promise.all(feedback.map(async (f) => ({
      key: f.request_id,
      value: await this.serde.encode(this.topics.feedback, 'Feedback', f),
    })));
    await this.producer.send({ topic: this.topics.feedback, acks: -1, messages });
  }
}
