import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file lives in `<root>/stack/`. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Downloaded and built servers, shared by every checkout on the machine because building them takes minutes.
 * IMGPIPE_CACHE_DIR overrides it; otherwise XDG's cache home.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IMGPIPE_CACHE_DIR) return resolve(env.IMGPIPE_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'imgpipe');
}

/** Logs, data and pid files of the running servers, per checkout (gitignored). */
export const STATE_DIR = join(REPO_ROOT, '.state', 'stack');

export function serverStateDir(serverName: string): string {
  return join(STATE_DIR, serverName);
}
