/**
 * kafkajs 2.2.4's metadata refresh when a broker has not yet learned of a topic, as patches/kafkajs+2.2.4.patch leaves
 * it. A KRaft broker applies the controller's records some time after they are committed: milliseconds normally,
 * seconds for a node that has just restarted on a loaded machine. Unpatched, the refresh behind a consumer's subscribe
 * or a producer's first send threw that broker's UNKNOWN_TOPIC_OR_PARTITION at once, retried only
 * LEADER_NOT_AVAILABLE, and asked the same broker on every try: in a CI run of the cluster suite two pipelines failed
 * to start 351 ms after creating their topics, 17 s after a node's SIGKILL and restart. Now the refresh retries it and
 * asks any connected broker on each retry. Driven through kafkajs' own BrokerPool; both tests fail on the unpatched
 * file.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { logger, type Logger } from './silent-logger.ts';

const require = createRequire(import.meta.url);

const { KafkaJSProtocolError } = require('kafkajs/src/errors.js') as { KafkaJSProtocolError: new (e: unknown) => Error };
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => unknown };
const BrokerPool = require('kafkajs/src/cluster/brokerPool.js') as new (o: {
  connectionPoolBuilder: unknown; logger: Logger; retry: { retries: number; initialRetryTime: number; maxRetryTime: number };
}) => { seedBroker: FakeBroker; brokers: Record<string, FakeBroker>; refreshMetadata(topics: string[]): Promise<void>; metadata: unknown };

const UNKNOWN_TOPIC_OR_PARTITION = 3;
const TOPIC = 'imgpipe.requests';

interface FakeBroker {
  nodeId: number;
  connectionPool: { host: string; port: number; rack: null };
  asked: number;
  isConnected(): boolean;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  metadata(topics: string[]): Promise<unknown>;
}

/** A broker that answers UNKNOWN_TOPIC_OR_PARTITION for its first `lagFor` requests (Infinity: it never catches up). */
function broker(nodeId: number, lagFor: number): FakeBroker {
  const b: FakeBroker = {
    nodeId, connectionPool: { host: '127.0.0.1', port: 19090 + 2 * nodeId, rack: null }, asked: 0,
    isConnected: () => true, connect: async () => {}, disconnect: async () => {},
    metadata: async (topics) => {
      b.asked++;
      if (b.asked <= lagFor) throw new KafkaJSProtocolError(createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION));
      return {
        brokers: [{ nodeId, ...b.connectionPool }],
        topicMetadata: topics.map((topic) => ({ topic, topicErrorCode: 0, partitionMetadata: [] })),
      };
    },
  };
  return b;
}

function pool(...brokers: FakeBroker[]) {
  const p = new BrokerPool({ connectionPoolBuilder: {}, logger, retry: { retries: 20, initialRetryTime: 1, maxRetryTime: 5 } });
  p.seedBroker = brokers[0]!;
  p.brokers = Object.fromEntries(brokers.map((b) => [String(b.nodeId), b]));
  return p;
}

describe('kafkajs metadata refresh and a broker that has not yet learned of a topic (patched)', () => {
  it('retries UNKNOWN_TOPIC_OR_PARTITION until the broker knows the topic', async () => {
    const lagging = broker(1, 3);
    const p = pool(lagging);
    await expect(p.refreshMetadata([TOPIC])).resolves.toBeUndefined();
    expect(lagging.asked).toBe(4);
  });

  it('asks another connected broker on a retry, so one node that stays behind does not fail the refresh', async () => {
    const behind = broker(1, Infinity);
    const current = broker(2, 0);
    // The first broker asked is chosen at random; 30 refreshes ask the lagging one first with near certainty.
    for (let i = 0; i < 30; i++) await pool(behind, current).refreshMetadata([TOPIC]);
    expect(behind.asked).toBeGreaterThan(0);
    expect(current.asked).toBe(30);
  });
});
