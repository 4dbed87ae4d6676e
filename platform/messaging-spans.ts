/**
 * The OpenTelemetry messaging conventions for Kafka spans: span names and attributes, pure. Spelled out here
 * rather than imported from the conventions' incubating entry point, whose names may change between releases
 * (the messaging conventions are still "development" status). "publish" was renamed "send" in 1.26; consumers
 * use "receive" and "process".
 */
import type { Attributes } from '@opentelemetry/api';

export type MessagingOperation = 'send' | 'receive' | 'process';

export interface KafkaMessage {
  topic: string;
  partition?: number;
  offset?: string;
  /** The record's key; bytes are read as a string only for a span that is recorded. */
  key?: string | Buffer | null;
  consumerGroup?: string;
  batchSize?: number;
}

export function messagingAttributes(operation: MessagingOperation, m: KafkaMessage): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': m.topic,
  };
  if (m.partition !== undefined) attributes['messaging.destination.partition.id'] = String(m.partition);
  if (m.offset !== undefined) attributes['messaging.kafka.offset'] = Number(m.offset);
  if (m.key !== undefined && m.key !== null) attributes['messaging.kafka.message.key'] = m.key.toString();
  if (m.consumerGroup !== undefined) attributes['messaging.consumer.group.name'] = m.consumerGroup;
  if (m.batchSize !== undefined) attributes['messaging.batch.message_count'] = m.batchSize;
  return attributes;
}

/** "<operation> <destination>", the span name the messaging conventions ask for. */
export function messagingSpanName(operation: MessagingOperation, topic: string): string {
  return `${operation} ${topic}`;
}
