/**
 * file:// targets that are not regular files. A FIFO is read in a child process: before O_NONBLOCK, opening one
 * waited for a writer for good and, with synchronous reads, froze the whole event loop (the test's own too).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchFile } from '../../../inference-consumers/fetch/file-fetch.ts';

const FILE_FETCH = fileURLToPath(new URL('../../../inference-consumers/fetch/file-fetch.ts', import.meta.url));
let root: string;
let socketServer: net.Server;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'fetch-special-'));
  execFileSync('mkfifo', [path.join(root, 'pipe.png')]);
  await writeFile(path.join(root, 'ok.png'), 'png');
  socketServer = net.createServer();
  await new Promise<void>((resolve) => socketServer.listen(path.join(root, 'socket.png'), resolve));
});

afterAll(async () => {
  await new Promise((resolve) => socketServer.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('file fetch of special files', () => {
  it('refuses a FIFO as ForbiddenUri without waiting for a writer, with synchronous and asynchronous reads', () => {
    const script = `
      import { fetchFile } from ${JSON.stringify(pathToFileURL(FILE_FETCH).href)};
      const uri = ${JSON.stringify(pathToFileURL(path.join(root, 'pipe.png')).href)};
      for (const syncReads of [true, false]) {
        const outcome = await fetchFile(uri, { maxBytes: 1000, allowedRoots: [${JSON.stringify(root)}], syncReads })
          .then(() => 'read', (err) => err.errorClass + ' ' + err.message);
        console.log(outcome);
      }`;
    // The timeout only bounds the failure this test guards against (a child blocked in open()).
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    const lines = child.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^ForbiddenUri Refused .*pipe\.png: it is a FIFO, not a regular file/);
  });

  it.each([true, false])('refuses a Unix socket and still reads a regular file beside it (synchronous reads: %s)', async (syncReads) => {
    const options = { maxBytes: 1000, allowedRoots: [root], syncReads };
    await expect(fetchFile(pathToFileURL(path.join(root, 'socket.png')).href, options)).rejects.toMatchObject({
      stage: 'fetch',
      errorClass: 'ForbiddenUri',
      message: expect.stringMatching(/not a regular file/),
    });
    expect((await fetchFile(pathToFileURL(path.join(root, 'ok.png')).href, options)).toString()).toBe('png');
  });
});
