import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { describeLog, logSize } from './health.ts';
import type { LaunchSpec } from './processes.ts';
import { type Progress, withHeartbeat } from './progress.ts';

/**
 * Runs an install step (Maven resolve, Go build, ...) with its output appended to `logFile`, printing
 * `heartbeat` with the elapsed time while it runs. Resolves with its stdout; on failure the error points at the log.
 */
export async function runLogged(
  spec: LaunchSpec,
  logFile: string,
  progress: Progress,
  heartbeat: string,
): Promise<string> {
  mkdirSync(dirname(logFile), { recursive: true });
  const logOffset = logSize(logFile);
  const log = createWriteStream(logFile, { flags: 'a' });
  await new Promise<void>((resolve, reject) => log.once('open', () => resolve()).once('error', reject));
  log.write(`\n$ ${[spec.command, ...spec.args].join(' ')}\n`);

  const run = new Promise<string>((resolve, reject) => {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      log.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else reject(new Error(`\`${spec.command} ${spec.args.join(' ')}\` failed (${signal ?? `exit ${code}`})`));
    });
  });

  try {
    return await withHeartbeat(progress, heartbeat, run);
  } catch (error) {
    await new Promise((resolve) => log.end(resolve)); // Flush, so the tail below includes the failure.
    throw new Error(`${(error as Error).message}.\n${describeLog(logFile, logOffset)}`);
  } finally {
    if (!log.writableEnded) log.end();
  }
}
