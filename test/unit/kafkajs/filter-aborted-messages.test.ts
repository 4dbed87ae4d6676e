/**
 * kafkajs 2.2.4's read_committed filter (filterAbortedMessages, behind every consumer's Batch) as
 * patches/kafkajs+2.2.4.patch leaves it. A fetch response lists the aborted transactions that overlap it in the
 * order the broker's transaction index holds them, which is the order their abort markers were written, not their
 * first offsets (the Java consumer puts them in a queue ordered by first offset for that reason). Unpatched, kafkajs
 * takes the list as sorted by first offset and opens at most one aborted transaction per record, so where two
 * producers interleave on a partition (our routed and prediction topics: one transactional id per input partition)
 * and a transaction that began earlier was aborted later, its first records reach the reader: the cluster suite's
 * pause scenario read 48 routed records twice that way, and its leader SIGKILL 10 predictions.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

interface Message { offset: string; key: Buffer | null; isControlRecord?: boolean; batchContext: { producerId: string; inTransaction: boolean } }
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as (o: {
  messages: Message[]; abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Message[];

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
const record = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from(`r${offset}`), batchContext: { producerId, inTransaction: true } });
const marker = (offset: number, producerId: string, key: Buffer): Message => ({ offset: String(offset), key, isControlRecord: true, batchContext: { producerId, inTransaction: true } });
const dataOffsets = (kept: Message[]): number[] => kept.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

describe('kafkajs read_committed filter (patched)', () => {
  it('drops a transaction that began first and was aborted last, when the list holds it second', () => {
    // Producer 7 opens at 0, producer 9 at 1; 9 aborts at 3, 7 at 5: the broker lists 9 before 7.
    const messages = [record(0, '7'), record(1, '9'), record(2, '7'), marker(3, '9', ABORT), record(4, '7'), marker(5, '7', ABORT), record(6, '9')];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '9', firstOffset: '1' }, { producerId: '7', firstOffset: '0' }] });
    expect(dataOffsets(kept)).toEqual([6]);
  });

  it('drops every aborted transaction that began before the fetched range, not one per record', () => {
    // A fetch from offset 10 inside two aborted transactions, opened at 4 and 6 before the range.
    const messages = [record(10, '9'), record(11, '7'), record(12, '9'), marker(13, '7', ABORT), marker(14, '9', ABORT), record(15, '7')];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '7', firstOffset: '4' }, { producerId: '9', firstOffset: '6' }] });
    expect(dataOffsets(kept)).toEqual([15]);
  });

  it('keeps committed transactions interleaved with an aborted one, and records after the abort marker', () => {
    const messages = [record(0, '7'), record(1, '9'), record(2, '7'), marker(3, '7', COMMIT), record(4, '9'), marker(5, '9', ABORT), record(6, '9'), marker(7, '9', COMMIT)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '9', firstOffset: '1' }] });
    expect(dataOffsets(kept)).toEqual([0, 2, 6]);
  });

  it('keeps everything when nothing was aborted', () => {
    const messages = [record(0, '7'), record(1, '9'), marker(2, '7', COMMIT)];
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toEqual(messages);
  });
});
