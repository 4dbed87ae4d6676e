/**
 * The stack as Testcontainers, for machines with a Docker engine: the same servers as the local stack
 * (Kafka KRaft, Apicurio Registry, MinIO), on random host ports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GenericContainer, RandomPortGenerator, type StartedTestContainer, Wait, getContainerRuntimeClient } from 'testcontainers';

import { CCOMPAT_PATH, IMAGES_BUCKET, LOCAL_STACK_ENV, MINIO_ROOT_PASSWORD, MINIO_ROOT_USER, type StackEnv } from './endpoints.ts';
import { KAFKA_VERSION } from './kafka/kafka-server.ts';
import { REPO_ROOT } from './paths.ts';

const KAFKA_IMAGE = `apache/kafka:${KAFKA_VERSION}`;
/** The version stack/apicurio builds for machines without Docker, so both paths serve the same ccompat API. */
const REGISTRY_IMAGE = `apicurio/apicurio-registry-mem:${readApicurioVersion()}`;
/** Official MinIO images stopped in October 2025; this is among the last published. */
const MINIO_IMAGE = 'minio/minio:RELEASE.2025-09-07T16-13-09Z';

export interface StartedContainers {
  env: StackEnv;
  stop(): Promise<void>;
}

export async function startContainers(): Promise<StartedContainers> {
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  const started: StartedTestContainer[] = [];
  try {
    const [kafka, registry, minio] = await Promise.all([startKafka(host), startRegistry(), startMinio()]);
    started.push(kafka.container, registry, minio);
    const s3Endpoint = `http://${minio.getHost()}:${minio.getMappedPort(9000)}`;
    await createBucket(s3Endpoint);
    return {
      env: {
        ...LOCAL_STACK_ENV,
        KAFKA_BROKERS: kafka.brokers,
        SCHEMA_REGISTRY_URL: `http://${registry.getHost()}:${registry.getMappedPort(8080)}${CCOMPAT_PATH}`,
        S3_ENDPOINT: s3Endpoint,
      },
      stop: async () => {
        await Promise.all(started.map((container) => container.stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((container) => container.stop()));
    throw error;
  }
}

/**
 * Kafka must advertise the address clients dial, which with a random mapping is known only after start;
 * binding the same free port number on both sides lets the advertised listener be fixed up front.
 */
async function startKafka(host: string): Promise<{ container: StartedTestContainer; brokers: string }> {
  const port = await new RandomPortGenerator().generatePort();
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://localhost:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  return { container, brokers: `${host}:${port}` };
}

function startRegistry(): Promise<StartedTestContainer> {
  return new GenericContainer(REGISTRY_IMAGE)
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp(`${CCOMPAT_PATH}/subjects`, 8080).forStatusCode(200))
    .withStartupTimeout(180_000)
    .start();
}

function startMinio(): Promise<StartedTestContainer> {
  return new GenericContainer(MINIO_IMAGE)
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER, MINIO_ROOT_PASSWORD })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000).forStatusCode(200))
    .withStartupTimeout(60_000)
    .start();
}

async function createBucket(endpoint: string): Promise<void> {
  const s3 = new S3Client({
    endpoint,
    region: LOCAL_STACK_ENV.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: MINIO_ROOT_USER, secretAccessKey: MINIO_ROOT_PASSWORD },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: IMAGES_BUCKET }));
  } finally {
    s3.destroy();
  }
}

function readApicurioVersion(): string {
  const pom = join(REPO_ROOT, 'stack', 'apicurio', 'pom.xml');
  const match = /<apicurio\.version>\s*([^<\s]+)\s*<\/apicurio\.version>/.exec(readFileSync(pom, 'utf8'));
  if (!match?.[1]) throw new Error(`${pom} has no <apicurio.version> property to pick the registry image by`);
  return match[1];
}
