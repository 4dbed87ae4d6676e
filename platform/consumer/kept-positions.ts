/**
 * Where a reader that commits no offsets resumes after kafkajs rejoins its group.
 *
 * kafkajs forgets a consumer's positions on every join (a coordinator move, a partition-count change, the restart
 * after a crash such as a broker restart): the new generation starts again from the group's committed offsets or,
 * where there are none, from the subscription's default. A reader that keeps its positions itself (in memory, or
 * in a snapshot) would then skip everything since it started (latest) or read it all again (earliest).
 * resumeOnJoin seeks every assigned partition back to the reader's position on each join; a partition the reader
 * has no position for keeps the default.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger.ts';

/**
 * How often a reader that must see every partition of its topics refreshes their metadata (kafkajs' default is
 * 5 minutes): a partition added to a topic joins the assignment (a rejoin) within this long.
 */
export const PARTITION_DISCOVERY_MS = 10_000;

/** The next offset to read on a partition; undefined where the reader has none. */
export type PositionOf = (topic: string, partition: number) => bigint | undefined;

export interface Seek {
  topic: string;
  partition: number;
  offset: string;
}

export type AssignmentEntries = Iterable<readonly [string, Iterable<number>]>;

/** Pure: the seeks that put the assigned partitions back at the reader's positions. */
export function seeksFor(assignment: AssignmentEntries, positionOf: PositionOf): Seek[] {
  const seeks: Seek[] = [];
  for (const [topic, partitions] of assignment) {
    for (const partition of partitions) {
      const next = positionOf(topic, partition);
      if (next !== undefined) seeks.push({ topic, partition, offset: next.toString() });
    }
  }
  return seeks;
}

/**
 * Seeks the assigned partitions to the reader's positions after every join of `consumer`. Register it before
 * `consumer.run()`, or call the returned function with the current assignment: kafkajs applies a seek before its
 * next fetch, and drops a batch fetched before it.
 */
export function resumeOnJoin(consumer: Consumer, positionOf: PositionOf, logger?: Logger): (assignment: AssignmentEntries) => void {
  const seekAll = (assignment: AssignmentEntries): void => {
    const seeks = seeksFor(assignment, positionOf);
    for (const seek of seeks) consumer.seek(seek);
    if (seeks.length > 0) logger?.info({ partitions: seeks.length }, 'resuming at kept positions after joining the group');
  };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => seekAll(Object.entries(payload.memberAssignment)));
  return seekAll;
}

/** Positions kept in memory: per partition, the offset after the last record the reader has handled. */
export class KeptPositions {
  private readonly next = new Map<string, bigint>();

  /** Moves a partition's position forward to `next`, never back: a batch of an older generation may end late. */
  advance(topic: string, partition: number, next: bigint): void {
    const key = `${topic}\u0000${partition}`;
    const current = this.next.get(key);
    if (current === undefined || next > current) this.next.set(key, next);
  }

  readonly positionOf: PositionOf = (topic, partition) => this.next.get(`${topic}\u0000${partition}`);
}
