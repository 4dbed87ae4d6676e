/**
 * Pure sizing of produce calls. A broker refuses a record batch larger than the topic's `max.message.bytes`
 * (MESSAGE_TOO_LARGE, not retriable), and kafkajs puts everything one send call has for a partition into one
 * batch; keeping each call's total under a budget below that limit keeps every batch acceptable.
 */

/** A record ready to produce. */
export interface OutgoingRecord {
  topic: string;
  key: string | Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** A record batch's fixed header, in bytes (Kafka message format v2). */
export const BATCH_OVERHEAD_BYTES = 61;
/** Upper bound of a record's own framing (length, attributes, deltas, key/value lengths as varints). */
export const RECORD_OVERHEAD_BYTES = 32;
/** Upper bound of one header's framing (two varint lengths). */
export const HEADER_OVERHEAD_BYTES = 10;

/** An upper bound of the bytes a record takes in a v2 record batch. */
export function recordBytes(r: OutgoingRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(r.key) + (r.value?.length ?? 0);
  for (const [name, value] of Object.entries(r.headers)) bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

function byteLength(key: string | Buffer | null): number {
  if (key === null) return 0;
  return typeof key === 'string' ? Buffer.byteLength(key) : key.length;
}

/** The largest record that fits in a call of `budgetBytes` on its own. */
export function maxRecordBytes(budgetBytes: number): number {
  return budgetBytes - BATCH_OVERHEAD_BYTES;
}

/**
 * Records per produce call at most. kafkajs encodes a whole produce request in one synchronous pass (about 35 µs a
 * record on the 2-core machine): the 2,048 outputs of a 64-chunk commit held the event loop for 65-95 ms, and a
 * high-priority fetch answered meanwhile waited for them (bench/priority.ts). Calls of 128 hold it for about 5 ms.
 */
export const PRODUCE_MAX_RECORDS = 128;

/**
 * Splits records, in order, into calls whose estimated size stays within `budgetBytes` and that hold at most
 * `maxRecords` records. Every record must fit on its own (check with maxRecordBytes first); a RangeError
 * otherwise, since the broker would refuse it for good.
 */
export function splitByBudget(records: readonly OutgoingRecord[], budgetBytes: number, maxRecords = PRODUCE_MAX_RECORDS): OutgoingRecord[][] {
  const calls: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let used = BATCH_OVERHEAD_BYTES;
  for (const record of records) {
    const bytes = recordBytes(record);
    if (bytes > maxRecordBytes(budgetBytes)) {
      throw new RangeError(`a record of about ${bytes} bytes for ${record.topic} exceeds the produce budget of ${budgetBytes} bytes`);
    }
    if (current.length > 0 && (used + bytes > budgetBytes || current.length >= maxRecords)) {
      calls.push(current);
      current = [];
      used = BATCH_OVERHEAD_BYTES;
    }
    current.push(record);
    used += bytes;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

/** The same records grouped by topic, order kept within each topic, for kafkajs' sendBatch. */
export function byTopic(records: readonly OutgoingRecord[]): { topic: string; messages: { key: string | Buffer | null; value: Buffer | null; headers: Record<string, string> }[] }[] {
  const groups = new Map<string, { key: string | Buffer | null; value: Buffer | null; headers: Record<string, string> }[]>();
  for (const r of records) {
    let list = groups.get(r.topic);
    if (!list) groups.set(r.topic, (list = []));
    list.push({ key: r.key, value: r.value, headers: r.headers });
  }
  return [...groups].map(([topic, messages]) => ({ topic, messages }));
}
