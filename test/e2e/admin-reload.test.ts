/**
 * POST /admin/reload on a running consumer: it needs ADMIN_TOKEN as a bearer token, loads only from
 * MODEL_URI_ALLOWED_PREFIXES, refuses a manifest of another version, and swaps in an allowed one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';

const h = new PipelineHarness();
const TOKEN = 'reload-token-0123456789';

afterAll(async () => {
  await h.close();
});

it('guards model reloads with a token, an allow-list of locations and the served version', async () => {
  await h.connect();
  const consumer = await h.start('inference-v1', 'inference', {
    MODEL_VERSION: 'v1', ADMIN_TOKEN: TOKEN, MODEL_URI_ALLOWED_PREFIXES: join(REPO_ROOT, 'models', 'fashion-mnist'),
  });
  const reload = (query: string, token?: string) => fetch(`${consumer.opsUrl}/admin/reload${query}`, {
    method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const v1 = JSON.parse(await readFile(join(REPO_ROOT, 'models/fashion-mnist/v1/manifest.json'), 'utf8')) as { sha256: string };

  const answers = {
    noToken: (await reload('')).status,
    wrongToken: (await reload('', 'not-the-token-at-all')).status,
    outside: await reload(`?uri=${encodeURIComponent('/tmp')}`, TOKEN),
    escape: (await reload(`?uri=${encodeURIComponent(join(REPO_ROOT, 'models/fashion-mnist/../../bench'))}`, TOKEN)).status,
    otherVersion: await reload(`?uri=${encodeURIComponent(join(REPO_ROOT, 'models/fashion-mnist/v2'))}`, TOKEN),
    same: await reload('', TOKEN),
  };
  const otherVersionText = await answers.otherVersion.text();
  const same = (await answers.same.json()) as { version: string; sha256: string };
  process.stdout.write(`${JSON.stringify({ test: 'admin-reload', statuses: { ...answers, outside: answers.outside.status, otherVersion: answers.otherVersion.status, same: answers.same.status } })}\n`);
  expect(answers.noToken).toBe(401);
  expect(answers.wrongToken).toBe(401);
  expect(answers.outside.status).toBe(403);
  expect(await answers.outside.text()).toContain('MODEL_URI_ALLOWED_PREFIXES');
  expect(answers.escape).toBe(403);
  expect(answers.otherVersion.status).toBe(422);
  expect(otherVersionText).toContain('this consumer serves fashion-mnist v1');
  expect(answers.same.status).toBe(200);
  expect(same).toMatchObject({ version: 'v1', sha256: v1.sha256 });
  // Still serving after the refusals.
  expect((await fetch(`${consumer.opsUrl}/readyz`)).status).toBe(200);
}, 120_000);
