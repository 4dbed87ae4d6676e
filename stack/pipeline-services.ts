/**
 * Runs the pipeline's own services (router, inference consumers, drift monitor, rollout controller) as child processes on this
 * machine, each with its environment, a log file and a free ops port; used by the demo, the end-to-end tests
 * and the benchmarks. Real processes, so a test can SIGKILL one mid-run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledPath, DIST_DIR } from '../scripts/build/dist-layout.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const SERVICE_ENTRIES = {
  router: 'router/main.ts',
  inference: 'inference-consumers/main.ts',
  'drift-monitor': 'drift-monitor/main.ts',
  rollouts: 'rollouts/main.ts',
  gateway: 'gateway/main.ts',
} as const;

export type ServiceKind = keyof typeof SERVICE_ENTRIES;

/**
 * How a service process starts. IMGPIPE_SERVICE_RUNTIME=dist runs the compiled output of `npm run build` with
 * plain node from dist/, the way the image runs it; otherwise (`tsx`, the default) the sources through tsx.
 */
function serviceCommand(kind: ServiceKind, runtime = process.env.IMGPIPE_SERVICE_RUNTIME || 'tsx'): { args: string[]; cwd: string } {
  if (runtime === 'tsx') return { args: ['--import', 'tsx', join(ROOT, SERVICE_ENTRIES[kind])], cwd: ROOT };
  if (runtime !== 'dist') throw new Error(`IMGPIPE_SERVICE_RUNTIME=${runtime} is not a runtime: use tsx (the sources) or dist (the compiled output)`);
  const dist = join(ROOT, DIST_DIR);
  const entry = join(dist, compiledPath(SERVICE_ENTRIES[kind]));
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run npm run build before starting services with IMGPIPE_SERVICE_RUNTIME=dist`);
  return { args: ['--enable-source-maps', entry], cwd: dist };
}

export interface RunningProcess {
  name: string;
  kind: ServiceKind;
  opsPort: number;
  opsUrl: string;
  logFile: string;
  child: ChildProcess;
  /** Resolves once /readyz answers 200; rejects with the log's tail if the process exits first. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM (graceful: finish the batch, commit) and wait for exit; SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL right away: the crash of a fault test. */
  kill(): Promise<void>;
  /** Resolves with the exit code once the process exits by itself; rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export interface StartOptions {
  name: string;
  kind: ServiceKind;
  env: Record<string, string>;
  logDir: string;
}

export async function startProcess(o: StartOptions): Promise<RunningProcess> {
  mkdirSync(o.logDir, { recursive: true });
  const opsPort = await freePort();
  const logFile = join(o.logDir, `${o.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // node itself (not npx) so that a kill reaches the service, not a wrapper.
  const command = serviceCommand(o.kind);
  const child = spawn(process.execPath, command.args, {
    cwd: command.cwd,
    env: { ...process.env, LOG_LEVEL: 'info', ...o.env, METRICS_HOST: '127.0.0.1', METRICS_PORT: String(opsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const done = exited(child);
  return {
    name: o.name, kind: o.kind, opsPort, opsUrl, logFile, child,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void done.then(() => { gone = true; });
      while (Date.now() < deadline) {
        if (gone) throw new Error(`${o.name} exited before it was ready; see ${logFile}`);
        const ok = await fetch(`${opsUrl}/readyz`).then((r) => r.ok, () => false);
        if (ok) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`${o.name} not ready within ${timeoutMs} ms; see ${logFile}`);
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await done;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      child.kill('SIGKILL');
      await done;
    },
    exited(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${o.name} still running after ${timeoutMs} ms; see ${logFile}`)), timeoutMs);
      });
      return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    },
  };
}
