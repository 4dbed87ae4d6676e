import type { KafkaMessage } from 'kafkajs';
import type { FailedRecord } from './dead-letter.ts';
import { classify, SystemicError } from './errors.ts';
import { HEADER, headersToStrings } from './headers.ts';
import type { AvroSerde, SchemaName } from './schema-registry.ts';

export interface Decoded<T> {
  message: KafkaMessage;
  value: T;
}

/**
 * Decodes a chunk as `expected` records; records that are not valid registry Avro of that record type become
 * dead letters (stage decode) instead of stopping the partition. A registry failure throws a SystemicError, so
 * the chunk is retried whole after a pause.
 */
export async function decodeChunk<T>(
  serde: AvroSerde,
  topic: string,
  partition: number,
  messages: KafkaMessage[],
  expected: SchemaName,
): Promise<{ decoded: Decoded<T>[]; failed: FailedRecord[] }> {
  const results = await Promise.allSettled(messages.map((m) => serde.decode<T>(m.value, expected)));
  const decoded: Decoded<T>[] = [];
  const failed: FailedRecord[] = [];
  results.forEach((r, i) => {
    const message = messages[i] as KafkaMessage;
    if (r.status === 'fulfilled') {
      decoded.push({ message, value: r.value });
      return;
    }
    if (r.reason instanceof SystemicError) throw r.reason;
    const error = classify(r.reason, 'decode', 'SchemaError');
    failed.push({ topic, partition, message, error, requestId: headersToStrings(message.headers)[HEADER.requestId] });
  });
  return { decoded, failed };
}
