/**
 * How long a partition was blocked: records of one partition are processed in offset order, so each record
 * reaches the head of its partition when it arrived or when the one before it was done, whichever is later; the
 * time from then until it was done is how long the partition waited on it. Pure.
 */
export interface RecordTiming {
  topic: string;
  partition: number;
  offset: bigint;
  /** When the record was written to this partition (ms). */
  arrivedAt: number;
  /** When its outcome (output or dead letter) was produced (ms); undefined: never. */
  doneAt: number | undefined;
  id: string;
}

export interface Stall {
  topic: string;
  partition: number;
  ms: number;
  /** The record the partition waited on. */
  id: string;
  /** When the wait began, ms. */
  from: number;
}

/** The longest wait per partition, longest first. Records never done are skipped (their loss is asserted elsewhere). */
export function partitionStalls(records: readonly RecordTiming[]): Stall[] {
  const byPartition = new Map<string, RecordTiming[]>();
  for (const r of records) {
    const key = `${r.topic}/${r.partition}`;
    let list = byPartition.get(key);
    if (!list) byPartition.set(key, (list = []));
    list.push(r);
  }
  const stalls: Stall[] = [];
  for (const list of byPartition.values()) {
    list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    let previousDone = -Infinity;
    let worst: Stall | undefined;
    for (const r of list) {
      if (r.doneAt === undefined) continue;
      const from = Math.max(r.arrivedAt, previousDone);
      const ms = Math.max(0, r.doneAt - from);
      if (!worst || ms > worst.ms) worst = { topic: r.topic, partition: r.partition, ms, id: r.id, from };
      previousDone = Math.max(previousDone, r.doneAt);
    }
    if (worst) stalls.push(worst);
  }
  return stalls.sort((a, b) => b.ms - a.ms);
}
