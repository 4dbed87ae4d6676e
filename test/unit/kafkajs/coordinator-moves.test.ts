/**
 * kafkajs 2.2.4 meeting a moving coordinator, as patches/kafkajs+2.2.4.patch leaves it. In a rolling restart every
 * node's shutdown moves the group and transaction coordinators it held, and its return moves them back (KRaft
 * restores preferred leaders at once). Unpatched, a transaction that met a move in EndTxn, AddOffsetsToTxn or
 * TxnOffsetCommit failed (the commit's error lists used Java's names, which kafkajs' errors never carry), so the
 * pipeline aborted it and retried its chunk after a pause; and a heartbeat that met a move made every member rejoin
 * its group, and one that met a crashed coordinator kept heartbeating the dead node until it came back, by when the new
 * coordinator had expired the member. Driven here through kafkajs' own eosManager and ConsumerGroup with fake
 * coordinators; all 7 tests fail on the unpatched files.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { logger, type Logger } from './silent-logger.ts';

const require = createRequire(import.meta.url);

const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };
const NOT_COORDINATOR = 16;
const COORDINATOR_NOT_AVAILABLE = 15;
const { KafkaJSConnectionError, KafkaJSConnectionClosedError } = require('kafkajs/src/errors.js') as {
  KafkaJSConnectionError: new (m: string) => Error;
  KafkaJSConnectionClosedError: new (m: string, o: { host: string; port: number }) => Error;
};

interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(topicData: { topic: string; partitions: { partition: number }[] }[]): Promise<void>;
  sendOffsets(o: { consumerGroupId: string; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
  commit(): Promise<void>;
}
const createEosManager = require('kafkajs/src/producer/eosManager') as (o: {
  logger: Logger; cluster: unknown; transactional: boolean; transactionalId: string;
}) => EosManager;

type Handler = (request: string) => void;

/** A node that answers requests as `handle` says (throw for an error code), recording what it was sent. */
function node(id: number, handle: Handler = () => {}) {
  const sent: string[] = [];
  const answer = async (request: string, result: unknown = {}): Promise<unknown> => {
    sent.push(request);
    handle(request);
    return result;
  };
  return {
    id, sent,
    initProducerId: () => answer('InitProducerId', { producerId: 7, producerEpoch: 0 }),
    addPartitionsToTxn: () => answer('AddPartitionsToTxn'),
    addOffsetsToTxn: () => answer('AddOffsetsToTxn'),
    txnOffsetCommit: () => answer('TxnOffsetCommit'),
    endTxn: () => answer('EndTxn'),
    heartbeat: () => answer('Heartbeat'),
  };
}
type Node = ReturnType<typeof node>;

/** A cluster whose coordinator is whichever node `coordinator()` names at the time of each lookup. */
function cluster(coordinator: () => Node) {
  const lookups: number[] = [];
  return {
    lookups,
    retry: { retries: 5, initialRetryTime: 1, maxRetryTime: 5 },
    refreshMetadataIfNecessary: async () => {},
    findGroupCoordinator: async () => {
      const n = coordinator();
      lookups.push(n.id);
      return n;
    },
  };
}

const failOnce = (code: number, request: string): Handler => {
  let failed = false;
  return (r) => {
    if (r === request && !failed) {
      failed = true;
      throw createErrorFromCode(code);
    }
  };
}

async function transactionThrough(moving: { old: Node; next: Node }): Promise<void> {
  let current = moving.old;
  const c = cluster(() => current);
  const eos = createEosManager({ logger, cluster: c, transactional: true, transactionalId: 'router.requests.0' });
  await eos.initProducerId();
  eos.beginTransaction();
  await eos.addPartitionsToTransaction([{ topic: 'requests.v1', partitions: [{ partition: 0 }] }]);
  // The coordinator moves: the old node answers NOT_COORDINATOR once, lookups now name the next node.
  current = moving.next;
  await eos.sendOffsets({ consumerGroupId: 'router', topics: [{ topic: 'requests', partitions: [{ partition: 0, offset: '10' }] }] });
  await eos.commit();
}

/**
 * A transaction whose coordinator moves before its commit: the lookup for EndTxn still names the old node (the
 * answering broker's metadata lags), which then fails EndTxn with `failure`; the next lookup names node 2.
 */
async function commitAcrossMove(failure: () => Error): Promise<{ old: Node; next: Node }> {
  let moved = false;
  const next = node(2);
  const old = node(1, (r) => {
    if (moved && r === 'EndTxn') throw failure();
  });
  let current = old;
  const c = cluster(() => current);
  const eos = createEosManager({ logger, cluster: c, transactional: true, transactionalId: 't' });
  await eos.initProducerId();
  eos.beginTransaction();
  await eos.addPartitionsToTransaction([{ topic: 'out', partitions: [{ partition: 0 }] }]);
  moved = true;
  let lookupsAfterMove = 0;
  c.findGroupCoordinator = async () => {
    current = lookupsAfterMove++ === 0 ? old : next;
    c.lookups.push(current.id);
    return current;
  };
  await eos.commit();
  return { old, next };
}

describe('kafkajs transactions across a coordinator move (patched)', () => {
  it('EndTxn that meets NOT_COORDINATOR is sent again to the new coordinator, and the commit succeeds', async () => {
    const { old, next } = await commitAcrossMove(() => createErrorFromCode(NOT_COORDINATOR));
    expect(old.sent.filter((r) => r === 'EndTxn')).toHaveLength(1);
    expect(next.sent).toEqual(['EndTxn']);
  });

  it('EndTxn whose connection closes under it (the node shut down) is sent again to the coordinator found next', async () => {
    // kafkajs' closed-connection error extends its connection error under another name: a test of the name alone
    // let it through unretried, and the transaction failed.
    const { old, next } = await commitAcrossMove(() => new KafkaJSConnectionClosedError('Closed connection', { host: '127.0.0.1', port: 19092 }));
    expect(old.sent.filter((r) => r === 'EndTxn')).toHaveLength(1);
    expect(next.sent).toEqual(['EndTxn']);
  });

  it('AddOffsetsToTxn that meets a coordinator still loading is retried, not failed', async () => {
    const next = node(2, failOnce(14, 'AddOffsetsToTxn'));
    await expect(transactionThrough({ old: node(1), next })).resolves.toBeUndefined();
    expect(next.sent.filter((r) => r === 'AddOffsetsToTxn')).toHaveLength(2);
  });

  it('TxnOffsetCommit that meets a moved group coordinator (kafkajs error names) goes to the new one', async () => {
    const next = node(2, failOnce(COORDINATOR_NOT_AVAILABLE, 'TxnOffsetCommit'));
    await expect(transactionThrough({ old: node(1), next })).resolves.toBeUndefined();
    expect(next.sent.filter((r) => r === 'TxnOffsetCommit')).toHaveLength(2);
  });
});

interface ConsumerGroup {
  memberId: string; generationId: number; groupId: string; coordinator: Node; lastRequest: number;
  heartbeat(o: { interval: number }): Promise<void>;
}
const ConsumerGroupClass = require('kafkajs/src/consumer/consumerGroup.js') as new (o: Record<string, unknown>) => ConsumerGroup;

function groupWith(c: ReturnType<typeof cluster>, coordinator: Node): ConsumerGroup {
  const group = new ConsumerGroupClass({
    logger, cluster: c, groupId: 'inference-v1', topics: [], topicConfigurations: [], retry: c.retry,
    instrumentationEmitter: { emit() {} }, isolationLevel: 1, rackId: '', metadataMaxAge: 300_000,
    autoCommitInterval: null, autoCommitThreshold: null, partitionAssigners: [], sessionTimeout: 6000,
    rebalanceTimeout: 60000, maxBytesPerPartition: 1, minBytes: 1, maxBytes: 1, maxWaitTimeInMs: 1,
  });
  Object.assign(group, { memberId: 'm-1', generationId: 3, coordinator, lastRequest: 0 });
  return group;
}

describe('kafkajs heartbeat across a group coordinator move (patched)', () => {
  it('heartbeats to the new coordinator instead of throwing the error that makes the member rejoin', async () => {
    const old = node(1, (r) => {
      if (r === 'Heartbeat') throw createErrorFromCode(NOT_COORDINATOR);
    });
    const next = node(2);
    const group = groupWith(cluster(() => next), old);
    await group.heartbeat({ interval: 0 });
    expect(old.sent).toEqual(['Heartbeat']);
    expect(next.sent).toEqual(['Heartbeat']);
    expect(group.coordinator).toBe(next);
  });

  it('looks the coordinator up again when its node is gone (SIGKILL), instead of heartbeating the dead node', async () => {
    const dead = node(3, () => {
      throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19096');
    });
    const next = node(2);
    const group = groupWith(cluster(() => next), dead);
    await group.heartbeat({ interval: 0 });
    expect(next.sent).toEqual(['Heartbeat']);
    expect(group.coordinator).toBe(next);
  });

  it('waits at most half a second for a lookup that is still backing off (no broker answers), then tries again later', async () => {
    const down = node(1, () => {
      throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    });
    const c = cluster(() => down);
    c.findGroupCoordinator = () => new Promise<Node>(() => {});
    const group = groupWith(c, down);
    const started = Date.now();
    await group.heartbeat({ interval: 0 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(group.coordinator).toBe(down);
  });
});
