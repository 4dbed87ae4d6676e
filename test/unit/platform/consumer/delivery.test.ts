import type { Admin, Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createDelivery, type Delivery } from '../../../../platform/consumer/delivery.ts';
import { SystemicError } from '../../../../platform/errors.ts';
import { silentLogger } from './fixtures.ts';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

/** Lets every pending promise callback run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

/**
 * The transactional producers delivery.ts creates through kafka.producer, recorded in order: connecting one is
 * InitProducerId (it fences every older producer of its transactional id), and a test decides when it answers.
 */
class Producers {
  readonly created: { id: string; n: number; connected: boolean; disconnected: boolean; gate: Deferred; steps: string[] }[] = [];
  /** Connects answer at once unless held. */
  hold = false;
  /** Commits fail (an EndTxn answer lost, a fenced producer). */
  failCommit = false;
  readonly events: string[] = [];

  readonly kafka = {
    producer: (config: { transactionalId: string }) => {
      const p = { id: config.transactionalId, n: this.created.length + 1, connected: false, disconnected: false, gate: deferred(), steps: [] as string[] };
      this.created.push(p);
      if (!this.hold) p.gate.resolve();
      const transaction = {
        abort: async () => { p.steps.push('abort'); },
        sendBatch: async () => { p.steps.push('send'); },
        sendOffsets: async () => { p.steps.push('offsets'); },
        commit: async () => {
          p.steps.push('commit');
          if (this.failCommit) throw new Error('Request EndTxn timed out');
        },
      };
      return {
        connect: async () => {
          this.events.push(`init #${p.n}`);
          await p.gate.promise;
          p.connected = true;
        },
        transaction: async () => transaction,
        disconnect: async () => {
          p.disconnected = true;
          this.events.push(`disconnect #${p.n}`);
        },
      } as unknown as Producer;
    },
  } as unknown as Kafka;

  /** Producers connected and not disconnected: what this member holds open on the broker. */
  get open(): number[] {
    return this.created.filter((p) => p.connected && !p.disconnected).map((p) => p.n);
  }
}

function setup() {
  const producers = new Producers();
  const admin = { fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '-1' }] }] } as unknown as Admin;
  const delivery: Delivery = createDelivery('exactly-once', {
    kafka: producers.kafka, admin, producer: {} as Producer, groupId: 'g', budgetBytes: 1_000_000, transactionTimeoutMs: 60_000, logger: silentLogger,
  });
  return { producers, delivery };
}

const commit = (ownership: number) => ({ topic: 't', partition: 0, offset: '9', ownership });
const noCommit = async (): Promise<void> => undefined;

describe('exactly-once delivery claims', () => {
  it('claims once per ownership: a partition kept across a rejoin keeps its producer', async () => {
    const { producers, delivery } = setup();
    expect(await delivery.claim('t', 0, 1)).toBe(5n);
    expect(await delivery.claim('t', 1, 1)).toBeUndefined();
    // Rejoin at generation 2 keeping both partitions: their ownership stays 1.
    await Promise.all([delivery.claim('t', 0, 1), delivery.claim('t', 1, 1)]);
    expect(producers.created.map((p) => p.id)).toEqual(['g.t.0', 'g.t.1']);
    await delivery.deliver([], commit(1), noCommit);
    expect(producers.created[0]?.steps).toEqual(['abort', 'offsets', 'commit']);
  });

  it('skips what it has committed itself when a kept partition is fetched again from older offsets', async () => {
    const { delivery } = setup();
    expect(await delivery.claim('t', 0, 1)).toBe(5n);
    await delivery.deliver([], commit(1), noCommit);
    // A rejoin keeping the partition: kafkajs resumes from the group's committed offsets, which may still be 5 (the
    // markers of the commit to 9 not yet written); the batch handler skips below what the claim says.
    expect(await delivery.claim('t', 0, 1)).toBe(9n);
    await delivery.deliver([], { ...commit(1), offset: '7' }, noCommit);
    expect(await delivery.claim('t', 0, 1)).toBe(9n);
  });

  it('claims anew for a newer ownership, closing the older producer first', async () => {
    const { producers, delivery } = setup();
    await delivery.claim('t', 0, 1);
    await delivery.claim('t', 0, 3);
    expect(producers.events).toEqual(['init #1', 'disconnect #1', 'init #2']);
    expect(producers.open).toEqual([2]);
  });

  // The claim for generation g is still initialising when the one for g+1 comes: before, both producers
  // initialised at once, and the later of the two answers was kept while the other leaked, still connected.
  it('runs a newer claim after the one in flight, which then closes its producer instead of keeping it', async () => {
    const { producers, delivery } = setup();
    producers.hold = true;
    const older = delivery.claim('t', 0, 1);
    older.catch(() => undefined);
    await settle(); // initialising
    const newer = delivery.claim('t', 0, 2);
    await settle();
    expect(producers.created).toHaveLength(1); // the newer claim waits: one InitProducerId at a time per id
    producers.hold = false;
    producers.created[0]?.gate.resolve();
    await expect(older).rejects.toThrow(/superseded/);
    expect(await newer).toBe(5n);
    expect(producers.events).toEqual(['init #1', 'disconnect #1', 'init #2']);
    expect(producers.open).toEqual([2]);
    expect(producers.created[0]?.steps).toEqual([]); // no transaction step after it was superseded
    await delivery.deliver([], commit(2), noCommit);
    expect(producers.created[1]?.steps).toContain('commit');
  });

  it('never initialises a claim superseded before it started', async () => {
    const { producers, delivery } = setup();
    const older = delivery.claim('t', 0, 1);
    older.catch(() => undefined);
    const newer = delivery.claim('t', 0, 2);
    await expect(older).rejects.toThrow(/superseded/);
    expect(await newer).toBe(5n);
    expect(producers.created).toHaveLength(1);
    expect(producers.open).toEqual([1]);
  });

  it('refuses a claim older than the newest one without creating a producer', async () => {
    const { producers, delivery } = setup();
    await delivery.claim('t', 0, 2);
    const late = delivery.claim('t', 0, 1);
    await expect(late).rejects.toBeInstanceOf(SystemicError);
    await expect(late).rejects.toThrow(/superseded/);
    expect(producers.created).toHaveLength(1);
    expect(producers.open).toEqual([1]);
    // Nor after the partition was revoked.
    await delivery.retain(() => false);
    const later = delivery.claim('t', 0, 1);
    await expect(later).rejects.toThrow(/superseded/);
    expect(producers.created).toHaveLength(1);
  });

  // Revoked while its claim initialises: the late claim must neither stay connected (a leak) nor go on to take
  // the partition's transactions from its new owner.
  it('discards a claim in flight when its partition is revoked, and never starts one queued behind it', async () => {
    const { producers, delivery } = setup();
    producers.hold = true;
    const first = delivery.claim('t', 0, 1);
    first.catch(() => undefined);
    await settle(); // initialising
    const queued = delivery.claim('t', 0, 2);
    queued.catch(() => undefined);
    await settle();
    await delivery.retain(() => false);
    producers.created[0]?.gate.resolve();
    await expect(first).rejects.toThrow(/superseded/);
    await expect(queued).rejects.toThrow(/superseded/);
    expect(producers.created).toHaveLength(1);
    expect(producers.open).toEqual([]);
    expect(producers.created[0]?.steps).toEqual([]);
  });

  it('claims again after the partition comes back, once the revoked claim has finished', async () => {
    const { producers, delivery } = setup();
    producers.hold = true;
    const first = delivery.claim('t', 0, 1);
    first.catch(() => undefined);
    await settle();
    await delivery.retain(() => false);
    const again = delivery.claim('t', 0, 4);
    await settle();
    expect(producers.created).toHaveLength(1);
    producers.hold = false;
    producers.created[0]?.gate.resolve();
    await expect(first).rejects.toThrow(/superseded/);
    expect(await again).toBe(5n);
    expect(producers.events).toEqual(['init #1', 'disconnect #1', 'init #2']);
    expect(producers.open).toEqual([2]);
  });

  it('opens a new producer for the same ownership after a failed transaction', async () => {
    const { producers, delivery } = setup();
    await delivery.claim('t', 0, 1);
    producers.failCommit = true;
    await expect(delivery.deliver([], commit(1), noCommit)).rejects.toThrow(/did not complete the transaction/);
    expect(producers.open).toEqual([]);
    producers.failCommit = false;
    expect(await delivery.claim('t', 0, 1)).toBe(5n); // re-reads the committed offset
    expect(producers.open).toEqual([2]);
    await delivery.deliver([], commit(1), noCommit);
  });

  it('commits only with the producer of the batch\'s ownership', async () => {
    const { delivery } = setup();
    await delivery.claim('t', 0, 2);
    await expect(delivery.deliver([], commit(1), noCommit)).rejects.toThrow(/not claimed for this batch's ownership/);
    await expect(delivery.deliver([], { ...commit(1), partition: 1 }, noCommit)).rejects.toThrow(/not claimed/);
  });

  it('releases only revoked partitions, and closes everything on close, claims in flight included', async () => {
    const { producers, delivery } = setup();
    await delivery.claim('t', 0, 1);
    await delivery.claim('t', 1, 1);
    await delivery.retain((_topic, partition) => partition === 0);
    expect(producers.open).toEqual([1]);
    producers.hold = true;
    const inFlight = delivery.claim('t', 1, 2);
    inFlight.catch(() => undefined);
    await settle();
    const closing = delivery.close();
    producers.created[2]?.gate.resolve();
    await closing;
    await expect(inFlight).rejects.toThrow(/superseded/);
    expect(producers.open).toEqual([]);
  });
});
