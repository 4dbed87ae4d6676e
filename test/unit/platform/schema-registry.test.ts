import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError, SystemicError } from '../../../platform/errors.ts';
import { createLogger } from '../../../platform/logger.ts';
import { AvroSerde, classifyRegistryFailure, loadSchema, NO_RESPONSE_STATUS, registryStatus } from '../../../platform/schema-registry.ts';

const logger = createLogger('test', 'silent');

/** An error as the registry client library or our own REST calls raise it: a message and an HTTP status. */
const failure = (status: number | undefined, message = 'registry call failed'): Error => Object.assign(new Error(message), status === undefined ? {} : { status });

describe('registryStatus', () => {
  it('reads a numeric status and nothing else', () => {
    expect(registryStatus(failure(503))).toBe(503);
    expect(registryStatus(Object.assign(new Error('x'), { status: '404' }))).toBeUndefined();
    expect(registryStatus(new Error('x'))).toBeUndefined();
    expect(registryStatus(null)).toBeUndefined();
    expect(registryStatus(undefined)).toBeUndefined();
    expect(registryStatus('404')).toBeUndefined();
  });
});

describe('classifyRegistryFailure', () => {
  it('makes an unknown schema id (404) the record\'s fault: decode/SchemaError', () => {
    const err = failure(404, 'Schema 17 not found');
    const classified = classifyRegistryFailure(err, 'looking up schema id 17');
    expect(classified).toBeInstanceOf(PipelineError);
    expect(classified).toMatchObject({ stage: 'decode', errorClass: 'SchemaError', transient: false });
    expect(classified.message).toContain('looking up schema id 17');
    expect(classified.message).toContain('404');
    expect(classified.cause).toBe(err);
  });

  it.each([
    [401, /SCHEMA_REGISTRY_USERNAME\/PASSWORD/],
    [403, /SCHEMA_REGISTRY_USERNAME\/PASSWORD/],
    [409, /BACKWARD compatible/],
    [422, /BACKWARD compatible/],
    [500, /answered 500/],
    [502, /answered 502/],
    [503, /answered 503/],
    [429, /answered 429/],
    [NO_RESPONSE_STATUS, /did not answer/],
    [undefined, /did not answer/],
  ])('makes status %s the registry\'s fault: a SystemicError saying so', (status, why) => {
    const err = failure(status, 'detail from the client');
    const classified = classifyRegistryFailure(err, 'registering Prediction for images.predictions');
    expect(classified).toBeInstanceOf(SystemicError);
    expect(classified).toMatchObject({ component: 'registry' });
    expect(classified.message).toMatch(why);
    expect(classified.message).toContain('registering Prediction for images.predictions');
    expect(classified.message).toContain('detail from the client');
    expect(classified.cause).toBe(err);
  });

  it('goes by the status, not by the words of the message', () => {
    expect(classifyRegistryFailure(failure(500, 'Schema not found'), 'x')).toBeInstanceOf(SystemicError);
    expect(classifyRegistryFailure(failure(404, 'connect ECONNREFUSED'), 'x')).toBeInstanceOf(PipelineError);
    expect(classifyRegistryFailure(new Error('404 Not Found'), 'x')).toBeInstanceOf(SystemicError);
  });

  it('keeps the message short when the registry answers with a long body', () => {
    const classified = classifyRegistryFailure(failure(500, `<html>${'x'.repeat(5_000)}</html>`), 'x');
    expect(classified.message.length).toBeLessThan(400);
  });

  // "the registry did not answer" says what happened, not what to check; the client library's own message for a
  // refused connection ("Error, status 400: connect ECONNREFUSED ...") does not either.
  it.each([NO_RESPONSE_STATUS, undefined])('names SCHEMA_REGISTRY_URL when the registry did not answer (status %s)', (status) => {
    const classified = classifyRegistryFailure(failure(status, 'Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 10.0.0.9:8081'), 'looking up schema id 4');
    expect(classified.message).toMatch(/SCHEMA_REGISTRY_URL/);
  });

  it('classifies thrown non-errors too', () => {
    expect(classifyRegistryFailure('socket hang up', 'x')).toBeInstanceOf(SystemicError);
  });
});

/** A registry on 127.0.0.1 answering from tables the tests fill; requests are recorded. */
interface FakeRegistry {
  url: string;
  requests: string[];
  schemas: Map<number, { status: number; body: unknown }>;
  register: { status: number; body: unknown };
  /** The answer to looking a schema up under a subject (POST /subjects/<s>); the registration's when unset. */
  lookup?: { status: number; body: unknown };
  /** Answers to the next lookups, in turn, before `lookup`. */
  nextLookups: Array<{ status: number; body: unknown }>;
  /** Answers to the next registrations, in turn, before `register`. */
  nextRegisters: Array<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

async function startFakeRegistry(): Promise<FakeRegistry> {
  const fake: Omit<FakeRegistry, 'url' | 'close'> = { requests: [], schemas: new Map(), register: { status: 200, body: {} }, nextLookups: [], nextRegisters: [] };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      fake.requests.push(`${req.method} ${req.url}`);
      const id = /^\/schemas\/ids\/(\d+)/.exec(req.url ?? '')?.[1];
      const answer = id !== undefined
        ? fake.schemas.get(Number(id)) ?? { status: 404, body: { error_code: 40403, message: 'Schema not found' } }
        : req.method === 'PUT' ? { status: 200, body: { compatibility: 'BACKWARD' } }
          : /^\/subjects\/[^/]+$/.test(req.url ?? '') ? fake.nextLookups.shift() ?? fake.lookup ?? fake.register : fake.nextRegisters.shift() ?? fake.register;
      res.writeHead(answer.status, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
}

/** A 127.0.0.1 port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const framed = (id: number, payload: Buffer = Buffer.alloc(0)): Buffer => {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, payload]);
};

describe('AvroSerde.decode framing', () => {
  let serde: AvroSerde;
  let registry: FakeRegistry;
  beforeAll(async () => {
    registry = await startFakeRegistry();
    serde = new AvroSerde({ url: registry.url, username: undefined, password: undefined }, logger);
  });
  afterAll(async () => {
    await registry.close();
  });

  it.each([
    ['null (a tombstone)', null],
    ['empty', Buffer.alloc(0)],
    ['shorter than the 5-byte header', Buffer.from([0, 0, 0, 1])],
    ['without the magic byte', Buffer.from('{"uri":"s3://b/k.png"}')],
    ['with magic byte 1', Buffer.from([1, 0, 0, 0, 1, 2, 3])],
  ])('refuses a value that is %s as decode/SchemaError without asking the registry', async (_name, value) => {
    const before = registry.requests.length;
    const error = await serde.decode(value, 'ImageRequest').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ stage: 'decode', errorClass: 'SchemaError' });
    expect((error as Error).message).toMatch(/magic byte/);
    expect(registry.requests.length).toBe(before);
  });
});

describe('AvroSerde against a registry on 127.0.0.1', () => {
  let registry: FakeRegistry;
  let serde: AvroSerde;
  const imageRequest = avro.Type.forSchema(JSON.parse(loadSchema('ImageRequest')) as avro.Schema);
  const feedback = avro.Type.forSchema(JSON.parse(loadSchema('Feedback')) as avro.Schema);
  const request = { request_id: 'r-1', uri: 's3://b/k.png', submitted_at: 1, stickiness_key: null, pinned_version: null, source: null, metadata: { a: 'b' }, model: null, deadline: null, priority: null };

  beforeAll(async () => {
    registry = await startFakeRegistry();
    registry.schemas.set(1, { status: 200, body: { schema: loadSchema('ImageRequest') } });
    registry.schemas.set(2, { status: 200, body: { schema: loadSchema('Feedback') } });
    registry.schemas.set(3, { status: 401, body: { error_code: 401, message: 'Unauthorized' } });
    registry.schemas.set(4, { status: 500, body: { error_code: 50001, message: 'Store error' } });
    serde = new AvroSerde({ url: registry.url, username: undefined, password: undefined }, logger);
  });
  afterAll(async () => {
    await registry.close();
  });

  it('decodes a record written with the topic\'s schema', async () => {
    expect(await serde.decode(framed(1, imageRequest.toBuffer(request)), 'ImageRequest')).toEqual(request);
  });

  it('refuses a record written with another record type\'s schema as decode/SchemaMismatch', async () => {
    const value = framed(2, feedback.toBuffer({ request_id: 'r-1', true_label: 'cat', true_index: null, observed_at: 1, source: null }));
    const error = await serde.decode(value, 'ImageRequest').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ stage: 'decode', errorClass: 'SchemaMismatch' });
    expect((error as Error).message).toMatch(/ImageRequest/);
  });

  it('refuses bytes that do not decode with their schema as decode/SchemaError', async () => {
    const error = await serde.decode(framed(1, Buffer.from([0xff, 0xff, 0xff])), 'ImageRequest').catch((err: unknown) => err);
    expect(error).toMatchObject({ stage: 'decode', errorClass: 'SchemaError' });
  });

  // platform/schema-registry.ts, transportFailuresAsStatus: the client library hands custom middlewares its
  // ResponseError (status set, no `errors` array), so `response.errors.length` throws a TypeError and the status is
  // lost: every HTTP error of a schema lookup is classified as "the registry did not answer".
  it('makes a schema id the registry does not know (404) the record\'s fault', async () => {
    const error = await serde.decode(framed(99, Buffer.from([0])), 'ImageRequest').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ stage: 'decode', errorClass: 'SchemaError' });
  });

  it('makes refused credentials (401) systemic, naming the variables to check', async () => {
    const error = await serde.decode(framed(3, Buffer.from([0])), 'ImageRequest').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SystemicError);
    expect((error as Error).message).toMatch(/SCHEMA_REGISTRY_USERNAME/);
  });

  it('makes a registry error with a JSON body (500) systemic, with its status', async () => {
    const error = await serde.decode(framed(4, Buffer.from([0])), 'ImageRequest').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SystemicError);
    expect(error).toMatchObject({ component: 'registry' });
    expect((error as Error).message).toMatch(/500/);
  });

  it('makes a registry that does not answer systemic', async () => {
    const down = new AvroSerde({ url: `http://127.0.0.1:${await closedPort()}`, username: undefined, password: undefined }, logger);
    const error = await down.decode(framed(1, Buffer.from([0])), 'ImageRequest').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SystemicError);
    expect((error as Error).message).toMatch(/could not be reached.*SCHEMA_REGISTRY_URL/);
  });

  it('makes a refused schema registration (409) systemic, saying why', async () => {
    registry.register = { status: 409, body: { error_code: 409, message: 'Schema being registered is incompatible' } };
    registry.lookup = { status: 404, body: { error_code: 40403, message: 'Schema not found' } };
    try {
      const error = await serde.encode('t1', 'ImageRequest', request).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(SystemicError);
      expect((error as Error).message).toMatch(/refused the schema \(409\).*BACKWARD/);
    } finally {
      delete registry.lookup;
    }
  });

  it('takes the id of a schema registered concurrently when the registry answers the registration with 409', async () => {
    registry.register = { status: 409, body: { error_code: 409, message: 'Artifact already exists' } };
    registry.lookup = { status: 200, body: { subject: 't4-value', id: 1, version: 1, schema: loadSchema('ImageRequest') } };
    try {
      const encoded = await serde.encode('t4', 'ImageRequest', request);
      expect(encoded.subarray(0, 5)).toEqual(framed(1));
      expect(registry.requests).toContain('POST /subjects/t4-value');
    } finally {
      delete registry.lookup;
    }
  });

  it('looks again when the concurrent registration that answered 409 has not committed yet', async () => {
    registry.register = { status: 409, body: { error_code: 409, message: 'Artifact already exists' } };
    registry.nextLookups.push({ status: 404, body: { error_code: 40403, message: 'Schema not found' } });
    registry.lookup = { status: 200, body: { subject: 't5-value', id: 1, version: 1, schema: loadSchema('ImageRequest') } };
    try {
      const encoded = await serde.encode('t5', 'ImageRequest', request);
      expect(encoded.subarray(0, 5)).toEqual(framed(1));
      expect(registry.requests.filter((r) => r === 'POST /subjects/t5-value')).toHaveLength(2);
    } finally {
      delete registry.lookup;
    }
  });

  it('registers again after a spurious 409 or 500 for a subject that does not exist (Apicurio, concurrent registrations of one schema)', async () => {
    registry.register = { status: 200, body: { id: 1 } };
    registry.nextRegisters.push(
      { status: 409, body: { error_code: 409, message: "An artifact with ID 't6-value' in group 'null' already exists." } },
      { status: 500, body: { error_code: 50001, message: 'RuntimeSqlException' } },
    );
    registry.lookup = { status: 404, body: { error_code: 40401, message: 'No artifact with ID' } };
    try {
      const encoded = await serde.encode('t6', 'ImageRequest', request);
      expect(encoded.subarray(0, 5)).toEqual(framed(1));
      expect(registry.requests.filter((r) => r === 'POST /subjects/t6-value/versions')).toHaveLength(3);
    } finally {
      delete registry.lookup;
    }
  });

  it('encodes after registering, and refuses a value that does not fit as a SchemaError of the stage given', async () => {
    registry.register = { status: 200, body: { id: 1 } };
    const encoded = await serde.encode('t2', 'ImageRequest', request);
    expect(encoded.subarray(0, 5)).toEqual(framed(1));
    expect(await serde.decode(encoded, 'ImageRequest')).toEqual(request);
    const error = await serde.encode('t2', 'ImageRequest', { ...request, uri: 42 }, 'route').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ stage: 'route', errorClass: 'SchemaError' });
  });

  it('makes a registration the registry does not answer systemic, naming SCHEMA_REGISTRY_URL', async () => {
    const down = new AvroSerde({ url: `http://127.0.0.1:${await closedPort()}`, username: undefined, password: undefined }, logger);
    const error = await down.encode('t3', 'ImageRequest', request).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SystemicError);
    expect((error as Error).message).toMatch(/did not answer/);
    expect((error as Error).message).toMatch(/SCHEMA_REGISTRY_URL/);
  });
});
