import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { LOCAL_STACK_ENV, STACK_ENV_NAMES, toExportLines } from '../../../stack/endpoints.ts';

describe('LOCAL_STACK_ENV', () => {
  it('has a value for every stack variable and points at loopback', () => {
    expect(Object.keys(LOCAL_STACK_ENV).sort()).toEqual([...STACK_ENV_NAMES].sort());
    expect(LOCAL_STACK_ENV.KAFKA_BROKERS).toBe('127.0.0.1:9092');
    expect(LOCAL_STACK_ENV.SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(LOCAL_STACK_ENV.S3_ENDPOINT).toBe('http://127.0.0.1:9000');
  });
});

describe('toExportLines', () => {
  it('prints lines a POSIX shell evaluates back to the same values, quotes included', () => {
    const env = { ...LOCAL_STACK_ENV, S3_SECRET_ACCESS_KEY: `it's $HOME "x"` };
    const script = `${toExportLines(env)}\nprintf '%s\\n' "$S3_SECRET_ACCESS_KEY" "$KAFKA_BROKERS"`;
    const output = execFileSync('sh', ['-c', script], { encoding: 'utf8', env: {} });
    expect(output).toBe(`it's $HOME "x"\n127.0.0.1:9092\n`);
  });
});
