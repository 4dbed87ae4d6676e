import type { LaunchSpec } from './processes.ts';
import type { Tool } from './prerequisites.ts';
import type { Progress } from './progress.ts';

export interface ServerContext {
  /** Shared install cache (see paths.ts). */
  cacheDir: string;
  /** This server's config, data and logs under .state/stack/<name>. */
  stateDir: string;
  progress: Progress;
}

/** One server of the local stack: how to install it once, launch it, and tell that it is ready. */
export interface LocalServer {
  readonly name: string;
  /** Human name with version, for progress lines. */
  readonly title: string;
  /** Where it listens, one line each, printed by `up` and `status`. */
  readonly listens: readonly string[];
  readonly startupTimeoutMs: number;
  /** How long SIGTERM gets before SIGKILL. */
  readonly stopGraceMs: number;
  /** Needed to run the installed server. */
  readonly runTools: readonly Tool[];
  /** Needed in addition while `isInstalled` is false. */
  readonly installTools: readonly Tool[];
  /** A string in the server's command line that ties a live pid to this checkout's server. */
  processMarker(ctx: ServerContext): string;
  isInstalled(ctx: ServerContext): boolean;
  install(ctx: ServerContext): Promise<void>;
  /** Writes config and initialises data (idempotent), and says what to launch. */
  prepare(ctx: ServerContext): Promise<LaunchSpec>;
  isHealthy(): Promise<boolean>;
  /** Runs once the server is healthy, e.g. creating a bucket. Idempotent. */
  afterHealthy?(ctx: ServerContext): Promise<void>;
}
