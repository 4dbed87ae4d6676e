/**
 * kafkajs 2.2.4's sendMessages (behind producer.send and every transactional send) as patches/kafkajs+2.2.4.patch
 * leaves it, driven by a fake cluster through the broker faults of the cluster suite (test/cluster/): a partition's
 * leadership moving while a send is out, a broker that wrote a batch and died before answering, a paused broker
 * whose request times out. The fake brokers keep one log per partition, shared as in-sync replicas share it: the
 * leader appends, any other broker answers NOT_LEADER_OR_FOLLOWER, and a producer id's batches are checked by
 * sequence as a broker checks them (a batch already written is acknowledged again, a gap is
 * OUT_OF_ORDER_SEQUENCE_NUMBER). A partition error fails the whole request, as kafkajs' produce response parser
 * does. kafkajs' own eosManager (sequences, broker locks), retrier and Cluster.findLeaderForPartitions run as they are.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { logger, type Logger } from './silent-logger.ts';

const require = createRequire(import.meta.url);

interface Message { key: string; value: string; partition: number }
interface ProducePartition { partition: number; firstSequence: number; messages: Message[] }
interface ProduceRequest { producerId: number; acks: number; topicData: { topic: string; partitions: ProducePartition[] }[] }
interface PartitionResponse { partition: number; errorCode: number; baseOffset: string; logAppendTime: string; logStartOffset: string }
interface ProduceResponse { topics: { topicName: string; partitions: PartitionResponse[] }[]; throttleTime: number }
interface RecordMetadata { topicName: string; partition: number; errorCode: number; baseOffset: string }
type SendMessages = (o: { acks: number; topicMessages: { topic: string; messages: Message[] }[] }) => Promise<RecordMetadata[]>;

const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (o: {
  logger: Logger; cluster: FakeCluster; partitioner: (o: { message: Message }) => number; eosManager: unknown; retrier: unknown;
}) => SendMessages;
const createEosManager = require('kafkajs/src/producer/eosManager') as (o: { logger: Logger; cluster: FakeCluster; transactional: boolean }) => {
  initProducerId(): Promise<void>;
};
const createRetry = require('kafkajs/src/retry') as (o: object) => unknown;
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => Error };
const { KafkaJSConnectionClosedError, KafkaJSRequestTimeoutError } = require('kafkajs/src/errors') as {
  KafkaJSConnectionClosedError: new (message: string, o: { host: string; port: number }) => Error;
  KafkaJSRequestTimeoutError: new (message: string) => Error;
};
const Cluster = require('kafkajs/src/cluster') as { prototype: { findLeaderForPartitions: (topic: string, partitions: string[]) => Record<string, number[]> } };

const TOPIC = 'requests';
const PARTITIONS = [0, 1, 2];
const NOT_LEADER_OR_FOLLOWER = 6;
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
const [A, B, C] = [1, 2, 3];


class PartitionLog {
  readonly values: string[] = [];
  /** The producer's batches, by which a broker recognises one sent again. */
  readonly batches: { firstSequence: number; count: number; baseOffset: number }[] = [];
  nextSequence = 0;
}

/** What a broker does with one produce request instead of simply answering it (`answer` appends and answers). */
type Behaviour = (request: ProduceRequest, answer: () => Promise<ProduceResponse>) => Promise<ProduceResponse>;

class FakeBroker {
  readonly requests: ProduceRequest[] = [];
  private readonly behaviours: Behaviour[] = [];

  constructor(readonly nodeId: number, private readonly cluster: FakeCluster) {}

  /** The next produce request meets `behaviour`. */
  next(behaviour: Behaviour): this {
    this.behaviours.push(behaviour);
    return this;
  }

  produce(request: ProduceRequest): Promise<ProduceResponse> {
    this.requests.push(request);
    const answer = (): Promise<ProduceResponse> => Promise.resolve(this.cluster.append(this.nodeId, request));
    const behaviour = this.behaviours.shift();
    return this.cluster.track(behaviour ? behaviour(request, answer) : answer());
  }

  async initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    return { producerId: 1000, producerEpoch: 0 };
  }
}

/** The parts of kafkajs' Cluster that sendMessages and eosManager use. */
class FakeCluster {
  readonly logs = new Map(PARTITIONS.map((p) => [p, new PartitionLog()]));
  readonly brokers = new Map([A, B, C].map((id) => [id, new FakeBroker(id, this)]));
  readonly targetTopics = new Set<string>();
  readonly retry = { retries: 0 };
  readonly findLeaderForPartitions = Cluster.prototype.findLeaderForPartitions;
  /** Who leads each partition (the controller's view). */
  private readonly leaders: Map<number, number>;
  /** The producer's cached metadata, as of its last refresh. */
  private known: Map<number, number>;
  private readonly pending: Promise<unknown>[] = [];

  constructor(leaders: Record<number, number>, known: Record<number, number> = leaders) {
    this.leaders = new Map(Object.entries(leaders).map(([p, id]) => [Number(p), id]));
    this.known = new Map(Object.entries(known).map(([p, id]) => [Number(p), id]));
  }

  broker(id: number): FakeBroker {
    return this.brokers.get(id)!;
  }

  moveLeader(partition: number, nodeId: number): void {
    this.leaders.set(partition, nodeId);
  }

  /** Every produce request answered or failed: one left in flight after send() settled would still write. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.pending);
  }

  track<T>(request: Promise<T>): Promise<T> {
    this.pending.push(request);
    return request;
  }

  append(nodeId: number, request: ProduceRequest): ProduceResponse {
    const errors: number[] = [];
    const response = (partition: number, errorCode: number, baseOffset: number): PartitionResponse => {
      if (errorCode !== 0) errors.push(errorCode);
      return { partition, errorCode, baseOffset: String(baseOffset), logAppendTime: '-1', logStartOffset: '0' };
    };
    const topics = request.topicData.map(({ topic, partitions }) => ({
      topicName: topic,
      partitions: partitions.map(({ partition, firstSequence, messages }) => {
        if (this.leaders.get(partition) !== nodeId) return response(partition, NOT_LEADER_OR_FOLLOWER, -1);
        const log = this.logs.get(partition)!;
        if (request.producerId >= 0) {
          const written = log.batches.find((b) => b.firstSequence === firstSequence && b.count === messages.length);
          if (written) return response(partition, 0, written.baseOffset);
          if (firstSequence !== log.nextSequence) return response(partition, OUT_OF_ORDER_SEQUENCE_NUMBER, -1);
          log.batches.push({ firstSequence, count: messages.length, baseOffset: log.values.length });
          log.nextSequence += messages.length;
        }
        const baseOffset = log.values.length;
        log.values.push(...messages.map((m) => m.value));
        return response(partition, 0, baseOffset);
      }),
    }));
    // kafkajs' produce response parser throws the first partition error for the whole request.
    if (errors.length > 0) throw createErrorFromCode(errors[0]!);
    return { topics, throttleTime: 0 };
  }

  async addMultipleTargetTopics(topics: string[]): Promise<void> {
    for (const t of topics) this.targetTopics.add(t);
  }

  async refreshMetadataIfNecessary(): Promise<void> {}

  async refreshMetadata(): Promise<void> {
    this.known = new Map(this.leaders);
  }

  isConnected(): boolean {
    return true;
  }

  async connect(): Promise<void> {}

  removeBroker(): void {}

  findTopicPartitionMetadata(): { partitionId: number; leader: number; partitionErrorCode: number }[] {
    return [...this.known].map(([partitionId, leader]) => ({ partitionId, leader, partitionErrorCode: 0 }));
  }

  async findBroker({ nodeId }: { nodeId: string }): Promise<FakeBroker> {
    return this.broker(Number(nodeId));
  }

  async findControllerBroker(): Promise<FakeBroker> {
    return this.broker(A);
  }
}

async function producer(cluster: FakeCluster, idempotent: boolean): Promise<SendMessages> {
  const eosManager = createEosManager({ logger, cluster, transactional: false });
  if (idempotent) await eosManager.initProducerId();
  return createSendMessages({
    logger,
    cluster,
    partitioner: ({ message }) => message.partition,
    eosManager,
    retrier: createRetry({ retries: 5, initialRetryTime: 1, maxRetryTime: 1, factor: 0, multiplier: 1 }),
  });
}

let serial = 0;
/** `count` messages for each partition. */
const messages = (count: number): Message[] =>
  PARTITIONS.flatMap((partition) => Array.from({ length: count }, () => ({ key: String(++serial), value: `p${partition}-${serial}`, partition })));

const send = (sendMessages: SendMessages, batch: Message[]): Promise<RecordMetadata[]> =>
  sendMessages({ acks: -1, topicMessages: [{ topic: TOPIC, messages: batch }] });

/** Every acknowledged message is in its partition's log once, in the order sent. */
async function expectWrittenOnce(cluster: FakeCluster, sent: Message[]): Promise<void> {
  await cluster.settled();
  for (const p of PARTITIONS) {
    expect(cluster.logs.get(p)!.values, `partition ${p}`).toEqual(sent.filter((m) => m.partition === p).map((m) => m.value));
  }
}

const acknowledgedPartitions = (metadata: RecordMetadata[]): number[] =>
  metadata.filter((m) => m.topicName === TOPIC && m.errorCode === 0).map((m) => m.partition).sort();

/** Resolves once `release` was called. */
function gate(): { opened: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return { opened, release };
}

/**
 * How long a slow broker takes, counted from another broker's failure: the retrier's next attempt (1 ms) is due
 * long before it, so an attempt that did not wait for every request would start while this one is still out.
 */
const SLOW_MS = 50;

describe('kafkajs sendMessages (patches/kafkajs+2.2.4.patch)', () => {
  it.each([['plain', false], ['idempotent', true]])(
    '%s: a partition whose leadership moved to a broker that already answered for other partitions is sent there',
    async (_name, idempotent) => {
      // The producer still thinks B leads partition 2; it moved to A, which leads 0 and 1.
      const cluster = new FakeCluster({ 0: A, 1: A, 2: A }, { 0: A, 1: A, 2: B });
      const batch = messages(2);
      const metadata = await send(await producer(cluster, idempotent), batch);
      expect(cluster.broker(B).requests).toHaveLength(1); // NOT_LEADER_OR_FOLLOWER
      expect(acknowledgedPartitions(metadata)).toEqual(PARTITIONS);
      await expectWrittenOnce(cluster, batch);
    },
  );

  it('idempotent: a batch the old leader wrote before its connection closed is acknowledged again by the new leader, and later sends go on', async () => {
    const cluster = new FakeCluster({ 0: A, 1: A, 2: B });
    cluster.broker(B).next(async (_request, answer) => {
      await answer();
      cluster.moveLeader(2, A);
      throw new KafkaJSConnectionClosedError('Connection closed', { host: 'b', port: 2 });
    });
    const sendMessages = await producer(cluster, true);
    const first = messages(2);
    const firstAcknowledged = await send(sendMessages, first);
    // Unpatched, partition 2's sequence went back to 0 and was never sent again: the broker rejects what follows.
    const second = messages(3);
    expect(acknowledgedPartitions(await send(sendMessages, second))).toEqual(PARTITIONS);
    expect(acknowledgedPartitions(firstAcknowledged)).toEqual(PARTITIONS);
    await expectWrittenOnce(cluster, [...first, ...second]);
  });

  // Idempotent: the second copy would carry new sequences, so the broker writes it too (in a transaction as well).
  it.each([['plain', false], ['idempotent', true]])('%s: a request still out when another broker fails is not sent a second time', async (_name, idempotent) => {
    const cluster = new FakeCluster({ 0: A, 1: A, 2: A }, { 0: A, 1: A, 2: B });
    const slow = gate();
    cluster.broker(A).next(async (_request, answer) => {
      await slow.opened;
      return answer();
    });
    cluster.broker(B).next(async (_request, answer) => {
      setTimeout(slow.release, SLOW_MS);
      return answer(); // NOT_LEADER_OR_FOLLOWER
    });
    const batch = messages(2);
    expect(acknowledgedPartitions(await send(await producer(cluster, idempotent), batch))).toEqual(PARTITIONS);
    await expectWrittenOnce(cluster, batch);
  });

  it('idempotent: a partition whose request to a paused broker is still out is not sent to its new leader meanwhile (OUT_OF_ORDER_SEQUENCE_NUMBER)', async () => {
    // A and B lost their partitions to C; B is paused and its request times out without writing.
    const cluster = new FakeCluster({ 0: C, 1: C, 2: C }, { 0: A, 1: A, 2: B });
    const paused = gate();
    cluster.broker(A).next(async (_request, answer) => {
      setTimeout(paused.release, SLOW_MS);
      return answer(); // NOT_LEADER_OR_FOLLOWER
    });
    cluster.broker(B).next(async () => {
      await paused.opened;
      throw new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out');
    });
    const batch = messages(2);
    expect(acknowledgedPartitions(await send(await producer(cluster, true), batch))).toEqual(PARTITIONS);
    await expectWrittenOnce(cluster, batch);
  });

  it('a partition missing from the cached metadata is sent once the metadata has it, not skipped', async () => {
    const cluster = new FakeCluster({ 0: A, 1: A, 2: B }, { 0: A, 1: A });
    const batch = messages(2);
    expect(acknowledgedPartitions(await send(await producer(cluster, false), batch))).toEqual(PARTITIONS);
    await expectWrittenOnce(cluster, batch);
  });
});
