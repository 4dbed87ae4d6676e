import type { Admin, Kafka, Producer, ProducerConfig } from 'kafkajs';
import { createKafka, createProducer, ensureTopics } from './kafka.ts';
import type { Logger } from './logger.ts';
import { AvroSerde } from './schema-registry.ts';
import type { CommonSettings } from './service-config.ts';
import { coreTopics, topicNames, type TopicNames } from './topics.ts';

export interface Clients {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  serde: AvroSerde;
  topics: TopicNames;
  close(): Promise<void>;
}

/** Connects what every process needs and makes sure the core topics exist. */
export async function connectClients(settings: CommonSettings, logger: Logger, producerConfig: ProducerConfig = {}): Promise<Clients> {
  const kafka = createKafka(settings.kafka, logger);
  const topics = topicNames(settings.kafka.topicPrefix, settings.defaultModel);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, coreTopics(topics), settings.kafka, logger);
  const producer = createProducer(kafka, producerConfig);
  await producer.connect();
  const serde = new AvroSerde(settings.registry, logger);
  return {
    kafka,
    admin,
    producer,
    serde,
    topics,
    async close() {
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
