import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBatchHandler, type BatchHandlerOptions, type ChunkResult } from '../../../../platform/consumer/batch-handler.ts';
import type { CommitOffsets, Delivery, PartitionCommit } from '../../../../platform/consumer/delivery.ts';
import { PartitionPauses } from '../../../../platform/consumer/partition-pauses.ts';
import { SystemicError } from '../../../../platform/errors.ts';
import type { OutgoingRecord } from '../../../../platform/produce-budget.ts';
import { kafkaMessages, silentLogger } from './fixtures.ts';

const PAUSES = { baseMs: 100, capMs: 1_000, notReadyAfterMs: 5_000 };

/**
 * A Delivery that keeps its committed offset in memory, as the broker keeps the group's: claim returns it (what a
 * takeover reads), deliver moves it, and `loseAnswer` plays an EndTxn that committed but whose answer was lost.
 */
class MemoryDelivery implements Delivery {
  readonly mode = 'exactly-once' as const;
  committed: bigint | undefined;
  readonly delivered: PartitionCommit[] = [];
  readonly claims: number[] = [];
  loseAnswer = false;

  async claim(_topic: string, _partition: number, ownership: number): Promise<bigint | undefined> {
    this.claims.push(ownership);
    return this.committed;
  }

  async deliver(_records: OutgoingRecord[], commit: PartitionCommit, _commitOffsets: CommitOffsets): Promise<void> {
    this.committed = BigInt(commit.offset);
    if (this.loseAnswer) throw new SystemicError('broker', 'the broker did not complete the transaction: Request timed out');
    this.delivered.push(commit);
  }

  async retain(): Promise<void> {}
  async close(): Promise<void> {}
}

/** kafkajs' eachBatch payload for one batch of t/0, recording what the handler resolves. */
function payload(messages: KafkaMessage[], o: { stale?: () => boolean; isRunning?: () => boolean } = {}) {
  const resolved: string[] = [];
  const p = {
    batch: { topic: 't', partition: 0, messages, lastOffset: () => (messages[messages.length - 1] as KafkaMessage).offset },
    resolveOffset: (offset: string) => resolved.push(offset),
    heartbeat: async () => undefined,
    isRunning: o.isRunning ?? (() => true),
    isStale: o.stale ?? (() => false),
    commitOffsetsIfNecessary: async () => undefined,
  } as unknown as EachBatchPayload;
  return { payload: p, resolved };
}

function setup(o: Partial<BatchHandlerOptions> = {}) {
  const delivery = new MemoryDelivery();
  const pauses = new PartitionPauses(PAUSES, { pause: () => undefined, resume: () => undefined }, () => Date.now(), () => 1);
  const processed: string[] = [];
  let ownership: number | undefined = 1;
  const handler = createBatchHandler({
    delivery,
    ownership: () => ownership,
    processChunk: async (chunk): Promise<ChunkResult> => {
      processed.push(...chunk.map((m) => m.offset));
      return { records: [], processed: { outputs: [], failed: [] }, failed: [], dropped: new Set() };
    },
    maxBatchSize: 2,
    commitMaxChunks: 1,
    commitIntervalMs: 60_000,
    succeeded: (topic, partition) => pauses.succeeded(topic, partition),
    systemic: (err, topic, partition) => pauses.pause(topic, partition, err.message),
    logger: silentLogger,
    heartbeatEveryMs: 60_000,
    ...o,
  });
  return { delivery, pauses, processed, handler, setOwnership: (n: number | undefined) => { ownership = n; } };
}

describe('createBatchHandler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers each chunk with the offset past it and resolves it', async () => {
    const { delivery, processed, handler, pauses } = setup();
    const { payload: p, resolved } = payload(kafkaMessages(5, 10));
    await handler(p);
    expect(processed).toEqual(['10', '11', '12', '13', '14']);
    expect(delivery.delivered.map((c) => c.offset)).toEqual(['12', '14', '15']);
    expect(resolved).toEqual(['11', '13', '14']);
    expect(delivery.claims).toEqual([1]);
    expect(pauses.troubled).toBe(0);
  });

  // The transaction committed, its answer was lost: the partition is paused, and the retried batch is all below
  // the committed offset. Nothing is delivered, so nothing marked the partition healthy again: /readyz turned 503
  // after PAUSED_NOT_READY_MS with no partition paused.
  it('counts a batch skipped whole after a lost EndTxn answer as the partition going forward', async () => {
    const { delivery, pauses, processed, handler } = setup({ maxBatchSize: 10 });
    delivery.loseAnswer = true;
    await handler(payload(kafkaMessages(5, 10)).payload);
    expect(delivery.committed).toBe(15n);
    expect(pauses.paused).toBe(1);
    await vi.runAllTimersAsync(); // resumed: kafkajs fetches the batch again
    delivery.loseAnswer = false;
    processed.length = 0;

    const { payload: again, resolved } = payload(kafkaMessages(5, 10));
    await handler(again);
    expect(processed).toEqual([]);
    expect(delivery.delivered).toEqual([]);
    expect(resolved).toEqual(['14']);
    expect(pauses.troubled).toBe(0);
    await vi.advanceTimersByTimeAsync(PAUSES.notReadyAfterMs);
    expect(pauses.healthy()).toBe(true);
  });

  it('waits for its lane\'s turn before each chunk and goes on with the same batch once it has it', async () => {
    const turns: (() => void)[] = [];
    const served: number[] = [];
    const { delivery, processed, handler } = setup({
      commitMaxChunks: 10,
      turn: () => new Promise<void>((resolve) => turns.push(resolve)),
      served: (records) => served.push(records),
    });
    const { payload: p, resolved } = payload(kafkaMessages(5, 10));
    const running = handler(p);
    await vi.waitFor(() => expect(turns).toHaveLength(1));
    expect(processed).toEqual([]);
    turns.shift()?.();
    await vi.waitFor(() => expect(turns).toHaveLength(1));
    // The chunk that had its turn ran; the next one waits, nothing delivered yet.
    expect(processed).toEqual(['10', '11']);
    expect(delivery.delivered).toEqual([]);
    turns.shift()?.();
    await vi.waitFor(() => expect(turns).toHaveLength(1));
    turns.shift()?.();
    await running;
    expect(processed).toEqual(['10', '11', '12', '13', '14']);
    expect(served).toEqual([2, 2, 1]);
    expect(delivery.delivered.map((c) => c.offset)).toEqual(['15']);
    expect(resolved).toEqual(['14']);
  });

  it('commits what it finished when the consumer stops while a chunk waits for its turn', async () => {
    let running = true;
    let release: (() => void) | undefined;
    let turns = 0;
    const { delivery, processed, handler } = setup({
      commitMaxChunks: 10,
      turn: () => (turns++ === 0 ? Promise.resolve() : new Promise<void>((resolve) => { release = resolve; })),
    });
    const { payload: p, resolved } = payload(kafkaMessages(5, 10), { isRunning: () => running });
    const done = handler(p);
    await vi.waitFor(() => expect(release).toBeDefined());
    running = false;
    release?.();
    await done;
    expect(processed).toEqual(['10', '11']);
    expect(delivery.delivered.map((c) => c.offset)).toEqual(['12']);
    expect(resolved).toEqual(['11']);
  });

  it('skips the committed part of a batch and processes the rest', async () => {
    const { delivery, processed, handler } = setup();
    delivery.committed = 12n;
    const { payload: p, resolved } = payload(kafkaMessages(5, 10));
    await handler(p);
    expect(processed).toEqual(['12', '13', '14']);
    expect(resolved).toEqual(['11', '13', '14']);
    expect(delivery.delivered.map((c) => c.offset)).toEqual(['14', '15']);
  });

  it('pauses a partition it still owns after a systemic failure', async () => {
    const { delivery, pauses, handler } = setup();
    delivery.loseAnswer = true;
    await handler(payload(kafkaMessages(2)).payload);
    expect(pauses.paused).toBe(1);
  });

  it('leaves a partition that changed hands during the batch to its next owner: no further chunk, no pause', async () => {
    const { delivery, pauses, processed, handler, setOwnership } = setup({
      processChunk: async (chunk) => {
        processed.push(...chunk.map((m) => m.offset));
        setOwnership(2); // a rebalance took it away and gave it back while the chunk ran
        return { records: [], processed: { outputs: [], failed: [] }, failed: [], dropped: new Set() };
      },
    });
    delivery.loseAnswer = true;
    await handler(payload(kafkaMessages(4)).payload);
    expect(processed).toEqual(['0', '1']);
    expect(pauses.troubled).toBe(0);
  });

  it('does nothing with a batch of a partition it does not own', async () => {
    const { delivery, processed, handler, setOwnership } = setup();
    setOwnership(undefined);
    const { payload: p, resolved } = payload(kafkaMessages(3));
    await handler(p);
    expect([processed, resolved, delivery.claims]).toEqual([[], [], []]);
  });
});
