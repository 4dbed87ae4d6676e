/** Shared test data for the consume-loop unit tests. */
import type { KafkaMessage } from 'kafkajs';
import { createLogger } from '../../../../platform/logger.ts';

export const silentLogger = createLogger('test', 'silent');

/** A consumed record as kafkajs hands it to eachBatch. */
export function kafkaMessage(offset: number | string, headers: Record<string, string> = {}, value: Buffer | null = Buffer.from(`value-${offset}`)): KafkaMessage {
  return { key: null, value, offset: String(offset), timestamp: '0', attributes: 0, headers };
}

/** `count` records with consecutive offsets from `first`, each with its own x-request-id. */
export function kafkaMessages(count: number, first = 0): KafkaMessage[] {
  return Array.from({ length: count }, (_, i) => kafkaMessage(first + i, { 'x-request-id': `req-${first + i}` }));
}
