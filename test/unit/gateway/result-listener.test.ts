/**
 * The result listener's positions across rejoins, against a consumer that plays kafkajs' part: the ends at start
 * are where it begins, every join seeks back to how far it has read, and a partition added later (no position)
 * is left to the subscription's default, which must be the earliest offset.
 */
import { EventEmitter } from 'node:events';
import { Kafka, type Admin, type Batch, type Consumer, type ConsumerRunConfig, type ConsumerSubscribeTopics, type EachBatchPayload, type Kafka as KafkaType } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import type { Prediction } from '../../../inference-consumers/service/prediction.ts';
import { ResultListener } from '../../../gateway/pipeline/result-listener.ts';
import type { RequestTracker } from '../../../gateway/pipeline/request-tracker.ts';
import type { AvroSerde } from '../../../platform/schema-registry.ts';
import { kafkaMessage, silentLogger } from '../platform/consumer/fixtures.ts';

const EVENTS = new Kafka({ brokers: ['127.0.0.1:9'], logLevel: 0 }).consumer({ groupId: 'unused' }).events;
const TOPICS = { predictions: 't.images.predictions', dlq: 't.images.dlq' };

function setup(ends: Record<string, number[]>) {
  const emitter = new EventEmitter();
  const seeks: string[] = [];
  let run: ConsumerRunConfig | undefined;
  const subscribe = vi.fn<(s: ConsumerSubscribeTopics) => Promise<void>>(async () => undefined);
  const consumer = {
    events: EVENTS,
    on: (event: string, listener: (e: unknown) => void) => {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },
    connect: async () => undefined,
    subscribe,
    run: async (config: ConsumerRunConfig) => { run = config; },
    disconnect: async () => undefined,
    seek: ({ topic, partition, offset }: { topic: string; partition: number; offset: string }) => { seeks.push(`${topic === TOPICS.predictions ? 'predictions' : 'dlq'}/${partition}@${offset}`); },
  } as unknown as Consumer;
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicOffsets: async (topic: string) => (ends[topic] ?? []).map((high, partition) => ({ partition, high: String(high), low: '0', offset: String(high) })),
  } as unknown as Admin;
  const kafka = { consumer: () => consumer, admin: () => admin } as unknown as KafkaType;
  const answered: string[] = [];
  const tracker = {
    wants: () => true,
    prediction: (p: Prediction) => { answered.push(p.request_id); return true; },
    deadLetter: () => true,
  } as unknown as RequestTracker<Prediction, unknown>;
  const serde = { decode: async (value: Buffer) => JSON.parse(value.toString()) as unknown } as unknown as AvroSerde;
  const listener = new ResultListener({
    kafka, serde, topics: TOPICS, topicPrefix: 't', tracker, logger: silentLogger, fatal: vi.fn(), onSettled: vi.fn(),
  });
  const join = (memberAssignment: Record<string, number[]>): void => {
    emitter.emit(EVENTS.GROUP_JOIN, { id: 1, type: EVENTS.GROUP_JOIN, timestamp: Date.now(), payload: { groupId: 'g', memberId: 'm', leaderId: 'm', isLeader: true, memberAssignment, groupProtocol: 'RoundRobinAssigner', duration: 1 } });
  };
  /** Hands the listener a batch of predictions at `offsets` of one partition; `last` includes trailing markers. */
  const batch = async (partition: number, offsets: number[], last = offsets[offsets.length - 1] as number): Promise<void> => {
    const messages = offsets.map((o) => kafkaMessage(o, { 'x-request-id': `r-${partition}-${o}` }, Buffer.from(JSON.stringify({ request_id: `r-${partition}-${o}`, shadow: false }))));
    const b = { topic: TOPICS.predictions, partition, messages, lastOffset: () => String(last) } as unknown as Batch;
    await run?.eachBatch?.({ batch: b } as unknown as EachBatchPayload);
  };
  return { listener, seeks, subscribe, join, batch, answered };
}

describe('ResultListener positions', () => {
  it('starts at the partitions\' ends at start and resumes where it was after each rejoin', async () => {
    const t = setup({ [TOPICS.predictions]: [5, 9], [TOPICS.dlq]: [2] });
    await t.listener.start();
    // Partitions it has no position for (added after start) are read from their first record.
    expect(t.subscribe).toHaveBeenCalledWith(expect.objectContaining({ fromBeginning: true }));

    t.join({ [TOPICS.predictions]: [0, 1], [TOPICS.dlq]: [0] });
    expect(t.seeks.splice(0)).toEqual(['predictions/0@5', 'predictions/1@9', 'dlq/0@2']);

    await t.batch(0, [5, 6, 7], 8); // offset 8: a transaction marker
    expect(t.answered).toEqual(['r-0-5', 'r-0-6', 'r-0-7']);

    // A leader change or broker restart rejoins the group: back where it was, not at the (new) latest offsets.
    t.join({ [TOPICS.predictions]: [0, 1], [TOPICS.dlq]: [0] });
    expect(t.seeks.splice(0)).toEqual(['predictions/0@9', 'predictions/1@9', 'dlq/0@2']);

    // Partitions were added: the new one is left to fromBeginning, the others resume.
    await t.batch(1, [9]);
    t.join({ [TOPICS.predictions]: [0, 1, 2, 3], [TOPICS.dlq]: [0] });
    expect(t.seeks.splice(0)).toEqual(['predictions/0@9', 'predictions/1@10', 'dlq/0@2']);
  });

  it('never moves back when a batch of an older generation ends after a newer one', async () => {
    const t = setup({ [TOPICS.predictions]: [0], [TOPICS.dlq]: [0] });
    await t.listener.start();
    await t.batch(0, [0, 1, 2, 3]);
    await t.batch(0, [0, 1]);
    t.join({ [TOPICS.predictions]: [0] });
    expect(t.seeks).toEqual(['predictions/0@4']);
  });
});
