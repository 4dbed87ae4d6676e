import type { KafkaMessage } from 'kafkajs';
import type { FailedRecord } from './dead-letter.ts';
import { classify } from './errors.ts';
import { HEADER, headersToStrings } from './headers.ts';
import type { AvroSerde } from './schema-registry.ts';

export interface Decoded<T> {
  message: KafkaMessage;
  value: T;
}

/**
 * Decodes a chunk; records that are not valid registry Avro become dead letters (stage decode) instead of
 * stopping the partition. A transient failure (registry unreachable) throws, so the chunk is retried whole.
 */
export async function decodeChunk<T>(
  serde: AvroSerde,
  topic: string,
  partition: number,
  messages: KafkaMessage[],
): Promise<{ decoded: Decoded<T>[]; failed: FailedRecord[] }> {
  const results = await Promise.allSettled(messages.map((m) => serde.decode<T>(m.value)));
  const decoded: Decoded<T>[] = [];
  const failed: FailedRecord[] = [];
  results.forEach((r, i) => {
    const message = messages[i] as KafkaMessage;
    if (r.status === 'fulfilled') {
      decoded.push({ message, value: r.value });
      return;
    }
    const error = classify(r.reason, 'decode', 'SchemaError');
    if (error.transient) throw error;
    failed.push({ topic, partition, message, error, requestId: headersToStrings(message.headers)[HEADER.requestId] });
  });
  return { decoded, failed };
}
