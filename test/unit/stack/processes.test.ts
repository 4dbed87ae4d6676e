import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { isGroupAlive, isOurProcess, spawnDetached, stopProcessGroup } from '../../../stack/processes.ts';

const logFile = () => join(mkdtempSync(join(tmpdir(), 'stack-processes-')), 'server.log');

describe('spawnDetached and stopProcessGroup', () => {
  it('stops the whole group with SIGTERM, children included', async () => {
    const log = logFile();
    // A parent with a background child: both must go.
    const pid = spawnDetached({ command: 'sh', args: ['-c', 'echo up; sleep 300 & sleep 300; wait'] }, log);
    await sleep(300);
    expect(isGroupAlive(pid)).toBe(true);
    expect(isOurProcess(pid, 'sleep 300')).toBe(true);
    expect(isOurProcess(pid, 'some-other-server')).toBe(false);

    expect(await stopProcessGroup(pid, 5_000)).toBe(false);
    expect(isGroupAlive(pid)).toBe(false);
    expect(readFileSync(log, 'utf8')).toContain('up');
  });

  it('falls back to SIGKILL when the group ignores SIGTERM', async () => {
    const pid = spawnDetached({ command: 'sh', args: ['-c', "trap '' TERM; sleep 300 & wait; sleep 300"] }, logFile());
    await sleep(300);
    expect(await stopProcessGroup(pid, 500)).toBe(true);
    expect(isGroupAlive(pid)).toBe(false);
  });
});
