import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { PipelineError, SystemicError } from './errors.ts';
import type { Logger } from './logger.ts';
import { retry, type RetryPolicy } from './retry.ts';

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
/** A registration that meets another process's is tried again for 1.8 to 3.6 s (five waits, jittered). */
const REGISTER_RETRY: RetryPolicy = { attempts: 6, baseMs: 400, capMs: 800 };

/** The status our own registry calls report when no HTTP answer came at all (refused, reset, timed out). */
export const NO_RESPONSE_STATUS = 599;

/** The HTTP status of a failed registry call, from the client library's ResponseError or our own RegistryHttpError. */
export function registryStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

class RegistryHttpError extends Error {
  constructor(readonly status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * What a failed registry call means, by HTTP status: a schema id the registry does not know (404) is the record's
 * fault; everything else (no answer, 5xx, throttling, refused credentials, a refused schema change, and the 400
 * that the client library reports for a connection it could not make) is the registry's or our configuration's,
 * so records wait instead of being dead-lettered.
 */
export function classifyRegistryFailure(err: unknown, what: string): PipelineError | SystemicError {
  const status = registryStatus(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (status === 404) {
    return new PipelineError('decode', 'SchemaError', `${what}: the registry has no such schema (404); the record was not written through this registry.`, false, { cause: err });
  }
  const why = status === undefined || status === NO_RESPONSE_STATUS ? 'the registry did not answer; check SCHEMA_REGISTRY_URL and that the registry is up'
    : status === 400 ? 'the registry could not be reached or refused the request (400); check SCHEMA_REGISTRY_URL and that the registry is up'
    : status === 401 || status === 403 ? `the registry refused our credentials (${status}); check SCHEMA_REGISTRY_USERNAME/PASSWORD`
      : status === 409 || status === 422 ? `the registry refused the schema (${status}); the change is not BACKWARD compatible with the subject`
        : `the registry answered ${status}`;
  return new SystemicError('registry', `${what}: ${why}: ${detail.slice(0, 300)}`, { cause: err });
}

/** How records written with one registered schema are read as one of our record types (null: byte-identical). */
type ReadPlan = { ok: true; resolver: avro.Resolver | null } | { ok: false; reason: string };

/**
 * Avro serde through a Confluent-compatible registry (Confluent, Apicurio ccompat, Karapace), subjects named
 * `<topic>-value` (TopicNameStrategy) with BACKWARD compatibility. Registration talks to the REST API directly:
 * the client library's register() refuses a subject whose compatibility differs from its own default, and
 * some registries answer a subject's config with the global one.
 */
export class AvroSerde {
  readonly registry: SchemaRegistry;
  private readonly ids = new Map<string, Promise<number>>();
  private readonly readerTypes = new Map<SchemaName, avro.Type>();
  /** By writer schema id and reader record name: resolving is costly, and a writer id never changes. */
  private readonly plans = new Map<string, ReadPlan>();

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
    let res: Response;
    try {
      res = await fetch(`${this.settings.url}${path}`, { method, headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new RegistryHttpError(NO_RESPONSE_STATUS, `schema registry ${method} ${path} did not answer: ${(err as Error).message}. Check SCHEMA_REGISTRY_URL.`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) {
      throw new RegistryHttpError(res.status, `schema registry ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}. Check SCHEMA_REGISTRY_URL and that the schema change is BACKWARD compatible.`);
    }
    return text ? JSON.parse(text) : {};
  }

  /**
   * Registers `schema` under `subject` (or finds it there). Apicurio answers concurrent registrations of one schema
   * under different new subjects with a spurious 409 ("artifact already exists", for a subject that does not) or a
   * 500, and of one subject with a 409 while the other registration commits; both pass when tried again. A schema
   * that is really refused keeps its 409 and, after 2 to 4 s of retries (REGISTER_RETRY), that answer stands.
   */
  private async register(subject: string, schema: string): Promise<number> {
    const encoded = encodeURIComponent(subject);
    await this.request('PUT', `/config/${encoded}`, { compatibility: 'BACKWARD' });
    const id = await retry(async () => {
      try {
        return ((await this.request('POST', `/subjects/${encoded}/versions`, { schema })) as { id: number }).id;
      } catch (err) {
        if (registryStatus(err) === 409) {
          const found = await this.lookup(encoded, schema);
          if (found !== undefined) return found;
        }
        throw err;
      }
    }, { ...REGISTER_RETRY, isRetryable: (err) => { const status = registryStatus(err); return status === 409 || (status !== undefined && status >= 500); } });
    this.logger.debug({ subject, id }, 'schema registered');
    return id;
  }

  /** The id of `schema` under the subject, or undefined when it is not there (yet) or the lookup failed. */
  private async lookup(encodedSubject: string, schema: string): Promise<number | undefined> {
    try {
      return ((await this.request('POST', `/subjects/${encodedSubject}`, { schema })) as { id: number }).id;
    } catch {
      return undefined;
    }
  }

  /**
   * Encodes `value` as `name` for `topic`. A value that does not fit the schema is the caller's record's fault
   * (a PipelineError of `stage`); a registry that cannot register the schema is systemic.
   */
  async encode(topic: string, name: SchemaName, value: unknown, stage: PipelineError['stage'] = 'produce'): Promise<Buffer> {
    let id: number;
    try {
      id = await this.schemaIdFor(topic, name);
    } catch (err) {
      throw classifyRegistryFailure(err, `registering ${name} for ${topic}`);
    }
    try {
      return await this.registry.encode(id, value);
    } catch (err) {
      if (registryStatus(err) !== undefined) throw classifyRegistryFailure(err, `encoding ${name} for ${topic}`);
      throw new PipelineError(stage, 'SchemaError', `value does not fit the ${name} schema: ${(err as Error).message}`, false, { cause: err });
    }
  }

  private readerType(name: SchemaName): avro.Type {
    let type = this.readerTypes.get(name);
    if (!type) {
      type = avro.Type.forSchema(JSON.parse(loadSchema(name)) as avro.Schema);
      this.readerTypes.set(name, type);
    }
    return type;
  }

  private async readPlan(id: number, expected: SchemaName): Promise<ReadPlan> {
    const key = `${id}/${expected}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    let writer: avro.Type;
    try {
      writer = (await this.registry.getSchema(id)) as unknown as avro.Type;
    } catch (err) {
      throw classifyRegistryFailure(err, `looking up schema id ${id}`);
    }
    const reader = this.readerType(expected);
    let plan: ReadPlan;
    if (typeof (writer as { createResolver?: unknown }).createResolver !== 'function') {
      plan = { ok: false, reason: `schema id ${id} is not an Avro schema` };
    } else if (writer.equals(reader)) {
      plan = { ok: true, resolver: null };
    } else {
      try {
        plan = { ok: true, resolver: reader.createResolver(writer) };
      } catch (err) {
        plan = { ok: false, reason: `schema id ${id} (${writer.name ?? writer.typeName}) cannot be read as ${expected}: ${(err as Error).message.slice(0, 200)}` };
      }
    }
    this.plans.set(key, plan);
    return plan;
  }

  /**
   * Decodes a registry-framed Avro value. With `expected`, the writer schema must be that record or a compatible
   * version of it (read through Avro schema resolution); another record type is a SchemaMismatch. Bytes that are
   * not registry Avro are a SchemaError; an unreachable or failing registry is a SystemicError.
   */
  async decode<T>(buffer: Buffer | null, expected?: SchemaName): Promise<T> {
    if (!buffer || buffer.length < 5 || buffer[0] !== 0) {
      throw new PipelineError('decode', 'SchemaError', 'value is not registry-framed Avro (expected magic byte 0 and a schema id)');
    }
    const id = buffer.readInt32BE(1);
    const payload = buffer.subarray(5);
    if (expected === undefined) {
      let writer: avro.Type;
      try {
        writer = (await this.registry.getSchema(id)) as unknown as avro.Type;
      } catch (err) {
        throw classifyRegistryFailure(err, `looking up schema id ${id}`);
      }
      return this.fromBuffer<T>(writer, payload, undefined, id);
    }
    const plan = await this.readPlan(id, expected);
    if (!plan.ok) throw new PipelineError('decode', 'SchemaMismatch', `${plan.reason}; this topic carries ${expected} records`);
    return this.fromBuffer<T>(this.readerType(expected), payload, plan.resolver ?? undefined, id);
  }

  private fromBuffer<T>(type: avro.Type, payload: Buffer, resolver: avro.Resolver | undefined, id: number): T {
    try {
      return type.fromBuffer(payload, resolver) as T;
    } catch (err) {
      throw new PipelineError('decode', 'SchemaError', `value does not decode with its registry schema (id ${id}): ${(err as Error).message}`, false, { cause: err });
    }
  }
}
