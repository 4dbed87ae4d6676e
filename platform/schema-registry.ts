import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { PipelineError } from './errors.ts';
import type { Logger } from './logger.ts';

/** The Avro contracts in `schemas/`, by record name. */
export const SCHEMA_FILES = {
  ImageRequest: 'image-request.avsc',
  RoutedRequest: 'routed-request.avsc',
  Prediction: 'prediction.avsc',
  DeadLetter: 'dead-letter.avsc',
  ExperimentConfig: 'experiment-config.avsc',
  Feedback: 'feedback.avsc',
  DriftReport: 'drift-report.avsc',
  RolloutDecision: 'rollout-decision.avsc',
  RolloutCommand: 'rollout-command.avsc',
} as const;

export type SchemaName = keyof typeof SCHEMA_FILES;

const schemaDir = fileURLToPath(new URL('../schemas/', import.meta.url));

export function loadSchema(name: SchemaName): string {
  return readFileSync(schemaDir + SCHEMA_FILES[name], 'utf8');
}

export interface RegistrySettings {
  url: string;
  username: string | undefined;
  password: string | undefined;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * Avro serde through a Confluent-compatible registry (Confluent, Apicurio ccompat, Karapace), subjects named
 * `<topic>-value` (TopicNameStrategy) with BACKWARD compatibility. Registration talks to the REST API directly:
 * the client library's register() refuses a subject whose compatibility differs from its own default, and
 * some registries answer a subject's config with the global one.
 */
export class AvroSerde {
  readonly registry: SchemaRegistry;
  private readonly ids = new Map<string, Promise<number>>();

  constructor(private readonly settings: RegistrySettings, private readonly logger: Logger) {
    const auth = settings.username ? { username: settings.username, password: settings.password ?? '' } : undefined;
    this.registry = new SchemaRegistry({ host: settings.url, ...(auth ? { auth } : {}) });
  }

  /** Registers `name` under `<topic>-value` once per process; returns the schema id. */
  schemaIdFor(topic: string, name: SchemaName): Promise<number> {
    const subject = `${topic}-value`;
    let id = this.ids.get(subject);
    if (!id) {
      id = this.register(subject, loadSchema(name));
      id.catch(() => this.ids.delete(subject));
      this.ids.set(subject, id);
    }
    return id;
  }

  private async request(method: string, path: string, body: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE };
    if (this.settings.username) {
      headers.authorization = `Basic ${Buffer.from(`${this.settings.username}:${this.settings.password ?? ''}`).toString('base64')}`;
    }
    const res = await fetch(`${this.settings.url}${path}`, { method, headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(`schema registry ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}. Check SCHEMA_REGISTRY_URL and that the schema change is BACKWARD compatible.`);
    }
    return text ? JSON.parse(text) : {};
  }

  private async register(subject: string, schema: string): Promise<number> {
    const encoded = encodeURIComponent(subject);
    await this.request('PUT', `/config/${encoded}`, { compatibility: 'BACKWARD' });
    const { id } = (await this.request('POST', `/subjects/${encoded}/versions`, { schema })) as { id: number };
    this.logger.debug({ subject, id }, 'schema registered');
    return id;
  }

  async encode(topic: string, name: SchemaName, value: unknown): Promise<Buffer> {
    return this.registry.encode(await this.schemaIdFor(topic, name), value);
  }

  /** Decodes a registry-framed Avro value; anything else is a SchemaError for the dead-letter topic. */
  async decode<T>(buffer: Buffer | null): Promise<T> {
    if (!buffer || buffer.length < 5 || buffer[0] !== 0) {
      throw new PipelineError('decode', 'SchemaError', 'value is not registry-framed Avro (expected magic byte 0 and a schema id)');
    }
    try {
      return (await this.registry.decode(buffer)) as T;
    } catch (err) {
      const message = (err as Error).message;
      // An unreachable registry is not the record's fault: retry instead of dead-lettering good data.
      const transient = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|fetch failed|status 5\d\d/i.test(message);
      throw new PipelineError('decode', transient ? 'ConnectionError' : 'SchemaError',
        `value does not decode with its registry schema: ${message}`, transient, { cause: err });
    }
  }
}
