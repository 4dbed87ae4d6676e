/**
 * Smoke test of the test stack itself: one record through the broker, one Avro schema through the registry,
 * one object through the bucket. If this fails, read the server logs before any other integration test.
 */
import { randomUUID } from 'node:crypto';

import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; the global setup (test/setup/global-setup.ts) should have set it`);
  return value;
};

describe('test stack', () => {
  const runId = randomUUID();

  describe('Kafka', () => {
    const kafka = new Kafka({ clientId: 'stack-smoke', brokers: env('KAFKA_BROKERS').split(','), logLevel: logLevel.ERROR });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true });
    const consumer = kafka.consumer({ groupId: `stack-smoke-${runId}` });
    const topic = `stack-smoke-${runId}`;

    afterAll(async () => {
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });

    it('produces a record and consumes it back through a consumer group', async () => {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: runId, value: 'hello', headers: { traceparent: '00-abc-def-01' } }] });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await new Promise<{ key: string; value: string; traceparent: string }>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) =>
            resolve({
              key: message.key?.toString() ?? '',
              value: message.value?.toString() ?? '',
              traceparent: message.headers?.traceparent?.toString() ?? '',
            }),
        });
      });
      expect(received).toEqual({ key: runId, value: 'hello', traceparent: '00-abc-def-01' });
    });
  });

  describe('schema registry', () => {
    it('registers an Avro schema and round-trips a record through it', async () => {
      const registry = new SchemaRegistry({ host: env('SCHEMA_REGISTRY_URL') });
      const schema = {
        type: 'record',
        name: 'StackSmoke',
        namespace: 'io.imgpipe.test',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'score', type: 'double' },
        ],
      };
      const subject = `stack-smoke-${runId}-value`;
      const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });

      const encoded = await registry.encode(id, { id: runId, score: 0.5 });
      expect(encoded.readUInt8(0)).toBe(0); // Confluent wire format: magic byte, then the 4-byte schema id.
      expect(encoded.readInt32BE(1)).toBe(id);
      expect(await registry.decode(encoded)).toEqual({ id: runId, score: 0.5 });
      expect(await registry.getLatestSchemaId(subject)).toBe(id);
    });
  });

  describe('S3', () => {
    it('puts an object into the bucket and gets it back', async () => {
      const s3 = new S3Client({
        endpoint: env('S3_ENDPOINT'),
        region: env('S3_REGION'),
        forcePathStyle: env('S3_FORCE_PATH_STYLE') === 'true',
        credentials: { accessKeyId: env('S3_ACCESS_KEY_ID'), secretAccessKey: env('S3_SECRET_ACCESS_KEY') },
      });
      const Key = `stack-smoke/${runId}.txt`;
      try {
        await s3.send(new PutObjectCommand({ Bucket: env('S3_BUCKET'), Key, Body: 'pixels', ContentType: 'text/plain' }));
        const object = await s3.send(new GetObjectCommand({ Bucket: env('S3_BUCKET'), Key }));
        expect(await object.Body?.transformToString()).toBe('pixels');
      } finally {
        s3.destroy();
      }
    });
  });
});
