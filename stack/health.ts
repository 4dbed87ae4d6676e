import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { isGroupAlive } from './processes.ts';

/** Status code of a GET, or undefined when nothing answers in time. */
export async function httpStatus(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}

export interface WaitOptions {
  serverName: string;
  timeoutMs: number;
  logFile: string;
  /** Process group of the server: when it exits, waiting stops at once instead of running into the timeout. */
  pgid: number;
  pollMs?: number;
}

/** Polls `isHealthy` until it answers true; on timeout or exit the error points at the server's log. */
export async function waitUntilHealthy(isHealthy: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await isHealthy()) return;
    if (!isGroupAlive(options.pgid)) {
      throw new Error(
        `${options.serverName} exited during startup. Its log is ${options.logFile}; last lines:\n${tailOf(options.logFile)}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${options.serverName} did not become healthy within ${Math.round(options.timeoutMs / 1000)}s ` +
          `(it is still running as process group ${options.pgid}). Its log is ${options.logFile}; last lines:\n` +
          tailOf(options.logFile),
      );
    }
    await sleep(options.pollMs ?? 500);
  }
}

export function tailOf(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((line) => `    ${line}`).join('\n');
  } catch {
    return '    (no log written)';
  }
}
