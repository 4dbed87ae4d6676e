import { describe, expect, it } from 'vitest';

import { LOCAL_STACK_ENV } from '../../../stack/endpoints.ts';
import { endpointsFromEnvironment } from '../../../stack/acquire-stack.ts';

describe('endpointsFromEnvironment', () => {
  const endpoints = {
    KAFKA_BROKERS: 'kafka:9092',
    SCHEMA_REGISTRY_URL: 'http://registry:8080/apis/ccompat/v7',
    S3_ENDPOINT: 'http://s3:9000',
  };

  it('uses the given endpoints and fills the rest with the local stack defaults', () => {
    expect(endpointsFromEnvironment({ ...endpoints, S3_BUCKET: 'other' })).toEqual({
      ...LOCAL_STACK_ENV,
      ...endpoints,
      S3_BUCKET: 'other',
    });
  });

  it('ignores a partial set, so the tests never mix two stacks', () => {
    expect(endpointsFromEnvironment({ KAFKA_BROKERS: 'kafka:9092', S3_ENDPOINT: 'http://s3:9000' })).toBeUndefined();
    expect(endpointsFromEnvironment({ ...endpoints, SCHEMA_REGISTRY_URL: '' })).toBeUndefined();
  });
});
