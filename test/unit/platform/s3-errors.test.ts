import { NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { classifyS3Error } from '../../../platform/s3-errors.ts';
import { PipelineError, systemicOf } from '../../../platform/errors.ts';

/** An error as the S3 client raises it for an HTTP answer. */
const service = (name: string, status: number, message = `${name} from the object store`): S3ServiceException =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
/** A socket error as Node raises it. */
const socket = (code: string): Error => Object.assign(new Error(`connect ${code} 127.0.0.1:9000`), { code });

const classify = (err: unknown) => classifyS3Error(err, 'fetch', 'fetching s3://images/cat.png');
const summary = (e: PipelineError) => ({ errorClass: e.errorClass, transient: e.transient, infrastructure: e.infrastructure });

describe('classifyS3Error', () => {
  it.each([
    ['NoSuchKey (SDK class)', new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' })],
    ['NotFound', service('NotFound', 404)],
    ['NoSuchBucket', service('NoSuchBucket', 404)],
    ['an unnamed 404', service('UnknownError', 404)],
  ])('makes %s the record\'s fault: NotFound, not the object store\'s', (_name, err) => {
    expect(summary(classify(err))).toEqual({ errorClass: 'NotFound', transient: false, infrastructure: undefined });
  });

  it.each([
    ['AccessDenied', service('AccessDenied', 403)],
    ['Forbidden', service('Forbidden', 403)],
    ['an unnamed 403', service('UnknownError', 403)],
  ])('makes %s the record\'s fault: AccessDenied, not the object store\'s', (_name, err) => {
    expect(summary(classify(err))).toEqual({ errorClass: 'AccessDenied', transient: false, infrastructure: undefined });
  });

  it.each(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken'])('makes refused credentials (%s, a 403) the object store\'s, naming the variables', (name) => {
    const e = classify(service(name, 403));
    expect(summary(e)).toEqual({ errorClass: 'AccessDenied', transient: false, infrastructure: 'object-store' });
    expect(e.message).toMatch(/S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/);
  });

  it.each([
    ['SlowDown', service('SlowDown', 503), 'Throttled'],
    ['ServiceUnavailable', service('ServiceUnavailable', 503), 'Throttled'],
    ['an unnamed 429', service('UnknownError', 429), 'Throttled'],
    ['an unnamed 503', service('UnknownError', 503), 'Throttled'],
    ['TimeoutError', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }), 'Timeout'],
    ['RequestTimeout', service('RequestTimeout', 400), 'Timeout'],
    ['ETIMEDOUT', socket('ETIMEDOUT'), 'Timeout'],
    ['ECONNREFUSED', socket('ECONNREFUSED'), 'ConnectionError'],
    ['ECONNRESET', socket('ECONNRESET'), 'ConnectionError'],
    ['ENOTFOUND (the endpoint does not resolve)', socket('ENOTFOUND'), 'ConnectionError'],
    ['NetworkingError', Object.assign(new Error('network'), { name: 'NetworkingError' }), 'ConnectionError'],
    ['InternalError (500)', service('InternalError', 500), 'ConnectionError'],
    ['an unnamed 502', service('UnknownError', 502), 'ConnectionError'],
  ])('makes %s the object store\'s, worth a retry', (_name, err, errorClass) => {
    expect(summary(classify(err))).toEqual({ errorClass, transient: true, infrastructure: 'object-store' });
  });

  it('makes anything else an InternalError of the record, not the object store\'s', () => {
    expect(summary(classify(new TypeError('body.transformToByteArray is not a function')))).toEqual({ errorClass: 'InternalError', transient: false, infrastructure: undefined });
    expect(summary(classify(service('InvalidObjectState', 400)))).toEqual({ errorClass: 'InternalError', transient: false, infrastructure: undefined });
  });

  it('names the stage, what was being done, and the SDK\'s own words', () => {
    const e = classifyS3Error(service('NoSuchKey', 404, 'The specified key does not exist.'), 'inference', 'loading s3://models/v1/model.onnx');
    expect(e.stage).toBe('inference');
    expect(e.message).toMatch(/^loading s3:\/\/models\/v1\/model\.onnx: no such object \(NoSuchKey: The specified key does not exist\.\)$/);
  });

  it('keeps an error that is already classified', () => {
    const own = new PipelineError('fetch', 'TooLarge', 'over the limit');
    expect(classify(own)).toBe(own);
  });
});

describe('systemicOf', () => {
  it('turns a failure blamed on infrastructure into a SystemicError of that component', () => {
    const cause = classify(socket('ECONNREFUSED'));
    const systemic = systemicOf(cause);
    expect(systemic?.name).toBe('SystemicError');
    expect(systemic?.component).toBe('object-store');
    expect(systemic?.message).toMatch(/^object-store unavailable: fetching s3:\/\/images\/cat\.png: connection to the object store failed/);
    expect(systemic?.cause).toBe(cause);
  });

  it('leaves a record\'s own failure alone', () => {
    expect(systemicOf(classify(service('NoSuchKey', 404)))).toBeUndefined();
    expect(systemicOf(classify(service('AccessDenied', 403)))).toBeUndefined();
    expect(systemicOf(new PipelineError('fetch', 'Timeout', 'the image server did not answer', true))).toBeUndefined();
  });

  it('works for every infrastructure', () => {
    for (const infrastructure of ['registry', 'object-store', 'model', 'broker', 'watchdog'] as const) {
      expect(systemicOf(new PipelineError('inference', 'InferenceError', 'x', false, { infrastructure }))?.component).toBe(infrastructure);
    }
  });
});
