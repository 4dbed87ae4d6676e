/**
 * One hostile client and one normal client on the same gateway, in front of the real pipeline (router and a
 * v1 consumer, the gateway with its default limits). The hostile token sends, at its rate limit, megabyte ids,
 * asynchronous requests it never collects, oversized and malformed bodies (bench/hostile-requests.ts); the
 * normal token sends images at a steady rate, at most a set number waiting for their answers. Measured: the gateway's resident
 * memory (VmRSS sampled, VmHWM at the end, from /proc), the normal client's answers, their correctness and
 * latency, and what the hostile client got back.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { latencyPercentiles } from '../drift-monitor/analytics/stats.ts';
import { Pacer } from '../producers/pacer.ts';
import { uploadSamples } from '../scripts/samples/upload-samples.ts';
import { writeSamples, type Sample } from '../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../stack/pipeline-harness.ts';
import { freePort, type RunningProcess } from '../stack/pipeline-services.ts';
import { HOSTILE_CYCLE, hostileRequests, type HostileKind, type HostileRequest } from './hostile-requests.ts';

export interface HostileOptions {
  /** How long the hostile client sends. */
  seconds: number;
  /** Hostile requests per second; the gateway's default rate limit is 20. */
  hostileRate: number;
  /** Normal (synchronous, one image) requests per second at most. */
  normalRate: number;
  /** Normal requests waiting for their answers at most: 1 is a caller that waits for each answer. */
  normalInFlight: number;
  /** Size of the hostile `id`, in bytes. */
  idBytes: number;
  /** The hostile client stops early once the gateway's RSS passes this, so a run cannot exhaust the machine. */
  rssCapMb: number;
  /** Settings for the gateway beyond its defaults. */
  gatewayEnv?: Record<string, string>;
  log: (line: string) => void;
}

export interface HostileResult {
  scenario: 'hostile-client';
  seconds: number;
  hostile_rate: number;
  normal_rate: number;
  normal_in_flight: number;
  id_bytes: number;
  gateway_env: Record<string, string>;
  gateway: {
    rss_before_mb: number;
    peak_rss_mb: number;
    rss_end_mb: number;
    /** The gateway process still running and answering /v2/health/live after the run. */
    alive_after: boolean;
    /** How the gateway process ended during the run ("code 134", "signal SIGKILL"), and when; null if it did not. */
    exit: string | null;
    exited_at_s: number | null;
    rss_every_5s_mb: number[];
  };
  /** Seconds into the run at which the RSS cap stopped the hostile client, or null. */
  stopped_early_at_s: number | null;
  hostile: { sent: number; skipped_busy: number; by_kind: Record<string, Record<string, number>>; server_errors: number };
  normal: {
    sent: number;
    answered: number;
    success_rate: number;
    correct_labels: number;
    p50_ms: number | null;
    p95_ms: number | null;
    max_ms: number | null;
    statuses: Record<string, number>;
    /** The distinct error messages it got, a few at most. */
    errors: string[];
  };
}

const HOSTILE_TOKEN = 'hostile-token-0123456789abcdef';
const NORMAL_TOKEN = 'normal-token-0123456789abcdef';
/** Hostile requests outstanding at once at most: the client's own memory stays small. */
const MAX_OUTSTANDING = 64;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x20);

const mb = (kb: number): number => Math.round(kb / 1024);

/** VmRSS and VmHWM of a process in kB, from /proc/<pid>/status; undefined once it is gone. */
export function readMemory(pid: number): { rssKb: number; hwmKb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const memory = { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
    // A zombie (exited, not yet reaped) still has a status file, without memory lines.
    return Number.isFinite(memory.rssKb) && Number.isFinite(memory.hwmKb) ? memory : undefined;
  } catch {
    return undefined;
  }
}

function count(table: Record<string, number>, key: string): void {
  table[key] = (table[key] ?? 0) + 1;
}

/** What a failed fetch was: a reset connection is how a server refuses a body it will not read. */
function failureName(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  return `error:${cause?.code ?? (err as Error).name}`;
}

function streamed(bytes: number): ReadableStream<Uint8Array> {
  let left = bytes;
  return new ReadableStream({
    pull(controller) {
      if (left <= 0) return controller.close();
      const n = Math.min(left, CHUNK.length);
      controller.enqueue(CHUNK.subarray(0, n));
      left -= n;
    },
  });
}

async function send(url: string, token: string, r: HostileRequest): Promise<string> {
  const isStream = !Buffer.isBuffer(r.body);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...r.headers },
      body: Buffer.isBuffer(r.body) ? r.body : streamed(r.body.streamBytes),
      signal: AbortSignal.timeout(60_000),
      ...(isStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    await res.arrayBuffer();
    return String(res.status);
  } catch (err) {
    return failureName(err);
  }
}

export async function runHostileScenario(o: HostileOptions): Promise<HostileResult> {
  const h = await new PipelineHarness().connect();
  try {
    const dir = join(REPO_ROOT, 'data', 'samples', 'hostile-client');
    const set = await writeSamples(dir, 'lossless', 20);
    const uris = await uploadSamples(h.s3(), h.s3Settings.bucket, `${h.prefix}/samples`, set);
    const images = await Promise.all(set.samples.map(async (s: Sample) => ({ label: s.label, base64: (await readFile(join(dir, s.file))).toString('base64') })));
    await h.setExperiment({ id: 'hostile', versions: ['v1'], default_version: 'v1', rules: [] });
    const port = await freePort();
    const [gateway] = await Promise.all([
      h.start('gateway', 'gateway', {
        GATEWAY_PORT: String(port),
        GATEWAY_TOKENS: `hostile:${HOSTILE_TOKEN},normal:${NORMAL_TOKEN}`,
        GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/`,
        LOG_LEVEL: 'warn',
        ...o.gatewayEnv,
      }),
      h.start('router', 'router', { LOG_LEVEL: 'warn' }),
      h.start('inference-v1', 'inference', { MODEL_VERSION: 'v1', LOG_LEVEL: 'warn' }),
    ]);
    const base = `http://127.0.0.1:${port}`;
    const infer = `${base}/v2/models/fashion-mnist/infer`;
    const pid = (gateway as RunningProcess).child.pid as number;

    // Warm-up: the first answers pay for connections and the model's first run, not for the hostile client.
    for (const image of images.slice(0, 3)) await normalRequest(infer, image.base64);
    const before = readMemory(pid);
    o.log(`gateway pid ${pid}: RSS ${mb(before?.rssKb ?? 0)} MB before the hostile client starts`);

    const request = hostileRequests({ uri: uris.get(set.samples[0]!.file) as string, idBytes: o.idBytes, maxBodyBytes: MAX_BODY_BYTES, depth: 100_000 });
    const byKind: Record<string, Record<string, number>> = {};
    const normalStatuses: Record<string, number> = {};
    const latencies: number[] = [];
    const normalErrors = new Set<string>();
    let correct = 0;
    let hostileSent = 0;
    let skipped = 0;
    let outstanding = 0;
    let stoppedAt: number | null = null;
    const series: number[] = [];
    const started = Date.now();
    const elapsed = () => (Date.now() - started) / 1000;

    let exit: string | null = null;
    let exitedAt: number | null = null;
    gateway.child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `code ${code}`;
      exitedAt = Math.round(elapsed());
      o.log(`the gateway exited (${exit}) at ${exitedAt} s`);
    });
    let lastRss = before?.rssKb ?? 0;
    let peakRss = lastRss;
    const sampler = setInterval(() => {
      lastRss = readMemory(pid)?.rssKb ?? lastRss;
      peakRss = Math.max(peakRss, lastRss);
      if (stoppedAt === null && lastRss / 1024 > o.rssCapMb) {
        stoppedAt = Math.round(elapsed());
        o.log(`gateway RSS ${mb(lastRss)} MB passed the cap of ${o.rssCapMb} MB at ${stoppedAt} s: the hostile client stops`);
      }
    }, 250);
    const reporter = setInterval(() => {
      series.push(mb(lastRss));
      o.log(`  ${Math.round(elapsed())} s: gateway RSS ${mb(lastRss)} MB, hostile sent ${hostileSent}, normal answered ${normalStatuses['200'] ?? 0} of ${latencies.length}`);
    }, 5_000);

    const hostilePending: Promise<void>[] = [];
    const hostile = (async () => {
      const pacer = new Pacer(o.hostileRate);
      for (let n = 0; elapsed() < o.seconds && stoppedAt === null; n++) {
        await pacer.next(1);
        const kind = HOSTILE_CYCLE[n % HOSTILE_CYCLE.length] as HostileKind;
        if (outstanding >= MAX_OUTSTANDING) {
          skipped++;
          continue;
        }
        outstanding++;
        hostileSent++;
        const table = (byKind[kind] ??= {});
        hostilePending.push(send(infer, HOSTILE_TOKEN, request(kind, n)).then((status) => {
          outstanding--;
          count(table, status);
        }));
      }
    })();

    const normalPending = new Set<Promise<void>>();
    const normal = (async () => {
      const pacer = new Pacer(o.normalRate);
      for (let n = 0; elapsed() < o.seconds; n++) {
        await pacer.next(1);
        // A client with a request cap waits for an answer before it sends more.
        while (normalPending.size >= o.normalInFlight) await Promise.race(normalPending);
        const image = images[n % images.length]!;
        const pending: Promise<void> = normalRequest(infer, image.base64).then((r) => {
          normalPending.delete(pending);
          count(normalStatuses, r.status);
          latencies.push(r.ms);
          if (r.status === '200' && r.label === image.label) correct++;
          if (r.error && normalErrors.size < 5) normalErrors.add(`${r.status}: ${r.error}`);
        });
        normalPending.add(pending);
      }
    })();

    await Promise.all([hostile, normal]);
    await Promise.all([...normalPending, ...hostilePending]);
    clearInterval(sampler);
    clearInterval(reporter);
    const end = readMemory(pid);
    const alive = gateway.child.exitCode === null && gateway.child.signalCode === null
      && await fetch(`${base}/v2/health/live`).then((r) => r.ok, () => false);

    const answered = normalStatuses['200'] ?? 0;
    const p = latencies.length > 0 ? latencyPercentiles(latencies) : undefined;
    const serverErrors = Object.values(byKind).flatMap((t) => Object.entries(t)).filter(([code]) => /^5\d\d$/.test(code) && code !== '503' && code !== '504').reduce((a, [, n]) => a + n, 0);
    return {
      scenario: 'hostile-client',
      seconds: o.seconds,
      hostile_rate: o.hostileRate,
      normal_rate: o.normalRate,
      normal_in_flight: o.normalInFlight,
      id_bytes: o.idBytes,
      gateway_env: o.gatewayEnv ?? {},
      gateway: {
        rss_before_mb: mb(before?.rssKb ?? 0),
        // VmHWM is gone with the process: then the highest sample is the best figure there is.
        peak_rss_mb: mb(end?.hwmKb ?? peakRss),
        rss_end_mb: mb(end?.rssKb ?? 0),
        alive_after: alive,
        exit,
        exited_at_s: exitedAt,
        rss_every_5s_mb: series,
      },
      stopped_early_at_s: stoppedAt,
      hostile: { sent: hostileSent, skipped_busy: skipped, by_kind: byKind, server_errors: serverErrors },
      normal: {
        sent: latencies.length,
        answered,
        success_rate: latencies.length > 0 ? Math.round((answered / latencies.length) * 10_000) / 10_000 : 0,
        correct_labels: correct,
        p50_ms: p ? Math.round(p.p50) : null,
        p95_ms: p ? Math.round(p.p95) : null,
        max_ms: latencies.length > 0 ? Math.round(Math.max(...latencies)) : null,
        statuses: normalStatuses,
        errors: [...normalErrors],
      },
    };
  } finally {
    await h.close();
  }
}

async function normalRequest(url: string, base64: string): Promise<{ status: string; ms: number; label?: string; error?: string }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${NORMAL_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [base64] }], outputs: [{ name: 'label' }] }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { outputs?: { data?: string[] }[]; error?: string };
    return { status: String(res.status), ms: performance.now() - t0, label: body.outputs?.[0]?.data?.[0], error: body.error };
  } catch (err) {
    return { status: failureName(err), ms: performance.now() - t0 };
  }
}
