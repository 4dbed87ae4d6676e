/**
 * Every command-line tool answers --help with its usage and an example (exit 0), and an unknown option with
 * the reason and its usage (exit 2), without a stack trace and before it connects to anything: the servers
 * these would talk to are not running in the unit tests.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../stack/paths.ts';

/** npm script → entry point; each is also checked against package.json. */
const CLIS: Record<string, string> = {
  produce: 'producers/cli.ts',
  experiment: 'router/publish-experiment.ts',
  rollout: 'rollouts/cli.ts',
  samples: 'scripts/samples/cli.ts',
  bench: 'bench/run.ts',
  stack: 'stack/cli.ts',
  demo: 'demo/main.ts',
  model: 'models/import/cli.ts',
};

interface Run { code: number | null; stdout: string; stderr: string }

function run(entry: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, entry), ...args], {
      cwd: REPO_ROOT,
      // Nothing listens here: a tool that tried to connect before answering would fail or hang, not pass.
      env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', S3_ENDPOINT: 'http://127.0.0.1:1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const STACK_TRACE = /^\s+at .+[:(]/m;
/** Each test starts a Node process with tsx; the limit only bounds a tool that hangs instead of answering. */
const SPAWN_TIMEOUT_MS = 60_000;

describe.each(Object.entries(CLIS))('npm run %s', (script, entry) => {
  it('is the package script it is tested as', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts[script]).toBe(`tsx ${entry}`);
  });

  it('answers --help with its usage and an example, exit 0', async () => {
    const result = await run(entry, ['--help']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^usage: npm run /);
    expect(result.stdout).toMatch(new RegExp(`^examples?:\\n(  .*\\n)*  npm run ${script} -- `, 'm'));
    expect(result.code).toBe(0);
  }, SPAWN_TIMEOUT_MS);

  it('answers an unknown option with the reason and its usage, exit 2, no stack trace', async () => {
    const result = await run(entry, ['--bogus']);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Unknown option '--bogus'\.?\nusage: npm run /);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.code).toBe(2);
  }, SPAWN_TIMEOUT_MS);
});

it('takes -h for --help', async () => {
  const [short, long] = await Promise.all([run(CLIS.stack!, ['-h']), run(CLIS.stack!, ['--help'])]);
  expect(short).toEqual(long);
  expect(short.code).toBe(0);
}, SPAWN_TIMEOUT_MS);
