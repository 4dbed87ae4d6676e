import { createRequire } from 'node:module';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { describeKafkaError, isFencing, kafkaErrorTypes } from '../../../../platform/consumer/kafka-errors.ts';

/** The protocol errors kafkajs builds from broker error codes. */
const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => KafkaJSProtocolError };

const INVALID_PRODUCER_EPOCH = 47;
const NOT_LEADER_OR_FOLLOWER = 6;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;
const INVALID_PRODUCER_ID_MAPPING = 49;

/** What kafkajs' retrier throws once it gives up on an error. */
const retriesExceeded = (cause: Error): KafkaJSNumberOfRetriesExceeded => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 5_000 });

/** A broker error kafkajs 2.2.4 has no table entry for, built the way createErrorFromCode builds known ones. */
const protocolError = (type: string, code: number): KafkaJSProtocolError =>
  new KafkaJSProtocolError({ type, code, retriable: false, message: `broker error ${type}` } as unknown as Error);

describe('isFencing', () => {
  it('finds INVALID_PRODUCER_EPOCH under a KafkaJSNumberOfRetriesExceeded', () => {
    const epoch = createErrorFromCode(INVALID_PRODUCER_EPOCH);
    expect(epoch.type).toBe('INVALID_PRODUCER_EPOCH');
    expect(isFencing(epoch)).toBe(true);
    expect(isFencing(retriesExceeded(epoch))).toBe(true);
  });

  it('finds PRODUCER_FENCED through several wrappers, including a plain Error cause', () => {
    const fenced = protocolError('PRODUCER_FENCED', 90);
    expect(isFencing(new Error('commit failed', { cause: retriesExceeded(fenced) }))).toBe(true);
  });

  it('treats the other take-over errors as fencing', () => {
    expect(isFencing(createErrorFromCode(INVALID_PRODUCER_ID_MAPPING))).toBe(true);
    expect(isFencing(retriesExceeded(createErrorFromCode(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)))).toBe(true);
  });

  it('does not treat other broker or connection errors as fencing', () => {
    expect(isFencing(retriesExceeded(createErrorFromCode(NOT_LEADER_OR_FOLLOWER)))).toBe(false);
    expect(isFencing(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092' }))).toBe(false);
    expect(isFencing(new Error('INVALID_PRODUCER_EPOCH mentioned in a message only'))).toBe(false);
    expect(isFencing(undefined)).toBe(false);
    expect(isFencing(null)).toBe(false);
    expect(isFencing('PRODUCER_FENCED')).toBe(false);
  });

  it('ends on a cause chain that loops', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isFencing(a)).toBe(false);
  });
});

describe('kafkaErrorTypes', () => {
  it('lists broker types and error names along the cause chain, outermost first', () => {
    const types = kafkaErrorTypes(retriesExceeded(createErrorFromCode(INVALID_PRODUCER_EPOCH)));
    expect(types).toEqual(['KafkaJSNumberOfRetriesExceeded', 'INVALID_PRODUCER_EPOCH', 'KafkaJSProtocolError']);
  });
});

describe('describeKafkaError', () => {
  it('adds the broker error type found down the chain when the message lacks it', () => {
    const err = retriesExceeded(createErrorFromCode(NOT_LEADER_OR_FOLLOWER));
    expect(describeKafkaError(err)).toBe(`${err.message} (NOT_LEADER_FOR_PARTITION)`);
  });

  it('does not repeat a type the message already names', () => {
    const err = new Error('transaction failed: PRODUCER_FENCED', { cause: protocolError('PRODUCER_FENCED', 90) });
    expect(describeKafkaError(err)).toBe('transaction failed: PRODUCER_FENCED');
  });

  it('gives the message alone when there is no broker type, and stringifies non-errors', () => {
    expect(describeKafkaError(new KafkaJSConnectionError('Connection timeout'))).toBe('Connection timeout');
    expect(describeKafkaError(new TypeError('x is undefined'))).toBe('x is undefined');
    expect(describeKafkaError('just text')).toBe('just text');
  });
});
