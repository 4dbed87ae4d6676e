/**
 * Tracing bench (issue 19): the throughput cost of tracing on the Fashion-MNIST v1 pipeline (router + one inference
 * consumer process, through the broker and registry, batch 32, as bench/pipeline.ts measures it, plus the CPU
 * time both processes spent per image) with tracing off,
 * with the default sampler (parentbased_traceidratio 0.01) and with every request sampled (parentbased_always_on),
 * exporting over OTLP to the local stack's Jaeger on the same machine. The requests are published by this process
 * traced with the same settings, as the gateway would start their traces, so the root's sampling decision is the
 * one the pipeline follows. Modes alternate within each round, and the figures are medians over the rounds, since
 * this shared 2-core machine's load moves between runs.
 * With --profile DIR the router's and the consumer's main threads are profiled (cpu-profile-preload.mjs, profiles
 * in DIR/<mode>/, the measured windows in DIR/windows.json), and the JSON says which packages and functions took the
 * CPU a tracing mode adds to the main threads while the measured images were served, the self time of the tracing
 * code itself (OpenTelemetry's packages and our tracing modules), and that as a share of the CPU the whole pipeline
 * (router, consumer and the broker, sampled from /proc) spends per image with tracing off: the throughput cost on a
 * machine the pipeline keeps busy, read without the run-to-run noise of the throughput itself.
 * Usage: npx tsx bench/tracing-cost.ts [--images N (4000)] [--rounds R (5)] [--profile DIR]. Prints JSON. Not a
 * test: no assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { startChunkSpans } from '../inference-consumers/service/batch-tracing.ts';
import type { Prediction } from '../inference-consumers/service/prediction.ts';
import type { RoutedRequest } from '../router/routed-request.ts';
import { exitWithUsage, parseCommandLine } from '../platform/cli-args.ts';
import { EnvReader } from '../platform/config.ts';
import { childTraceparent, newTraceparent, TRACEPARENT } from '../platform/trace.ts';
import { DEFAULT_SAMPLER, DEFAULT_SAMPLER_RATIO, readTracingSettings, spanTraceparent, startProcessSpan, startSendSpan, startTracing } from '../platform/tracing.ts';
import { newImageRequest } from '../producers/image-request.ts';
import { acquireStack } from '../stack/acquire-stack.ts';
import { JAEGER_ENV } from '../stack/jaeger/jaeger-server.ts';
import { localStackStatus, startLocalStack, stopLocalStack } from '../stack/local-stack.ts';
import { PipelineHarness, REPO_ROOT } from '../stack/pipeline-harness.ts';
import { benchImages } from './bench-images.ts';
import { largestDifferences, selfTimeOfDir, type WallWindows } from './cpu-profile.ts';
import { CpuSampler, cpuBetween } from './cpu-sampler.ts';
import { median, round1, round3 } from './rounding.ts';

/** Scripts whose self time is tracing's: OpenTelemetry's packages and every module of our tracing code. */
const TRACING_CODE = /\/node_modules\/@opentelemetry\/|\/platform\/(tracing|trace|tracing-warm-up|messaging-spans|unsampled-span)\.ts$|\/batch-tracing\.ts$/;
const USAGE = 'npx tsx bench/tracing-cost.ts [--images N (4000)] [--rounds R (5)] [--profile DIR]';
const log = (line: string): void => { process.stderr.write(`${line}\n`); };

const MODES = {
  off: { OTEL_SDK_DISABLED: 'true' },
  default_sampler: { OTEL_EXPORTER_OTLP_ENDPOINT: JAEGER_ENV.OTEL_EXPORTER_OTLP_ENDPOINT },
  sampled_100: { OTEL_EXPORTER_OTLP_ENDPOINT: JAEGER_ENV.OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
} as const satisfies Record<string, Record<string, string>>;
type Mode = keyof typeof MODES;


interface RunResult {
  ips: number;
  cpuMsPerImage: number;
  /** The broker's CPU per image over the same window (it also serves this bench's reader of the predictions). */
  brokerCpuMsPerImage: number;
  /** The wall-clock span the figures cover (after the warm-up), for the profiles. */
  window: { from: number; to: number };
}

/**
 * Throughput as bench/pipeline.ts takes it (input topic filled first, rate over the predictions after a warm-up),
 * and the CPU the router and the consumer spent per image over the same window, which waiting for a core on a
 * busy machine does not inflate.
 */
async function pipelineWithCpu(mode: Mode, uris: string[], images: number, profileDir: string | undefined, brokerPid: number): Promise<RunResult> {
  const h = await new PipelineHarness().connect();
  try {
    const warmup = 128;
    const predictions = await h.collect<Prediction>(h.clients.topics.predictions);
    await h.setExperiment({ id: 'bench', versions: ['v1'], default_version: 'v1', rules: [] });
    const requests = Array.from({ length: warmup + images }, (_, i) => newImageRequest(uris[i % uris.length] as string, { source: 'bench' }));
    await h.publish(requests);
    const profile: Record<string, string> = profileDir === undefined ? {} : {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(REPO_ROOT, 'bench', 'cpu-profile-preload.mjs')}`.trim(), CPU_PROFILE_DIR: profileDir,
    };
    const env = { LOG_LEVEL: 'warn', DELIVERY: 'at-least-once', ...MODES[mode], ...profile };
    const consumer = await h.start('inference', 'inference', {
      CONSUMER_GROUP_ID: `${h.prefix}.inference-v1`, MODEL_VERSION: 'v1', MODEL_URI: join(REPO_ROOT, 'models/fashion-mnist/v1'), MAX_BATCH_SIZE: '32',
      // The images repeat: answers from the result cache would not be inference.
      RESULT_CACHE: 'off', FETCH_FILE_ROOTS: join(REPO_ROOT, 'data'), OTEL_SERVICE_NAME: 'bench-inference', ...env,
    });
    const router = await h.start('router', 'router', { ROUTER_GROUP_ID: `${h.prefix}.router`, OTEL_SERVICE_NAME: 'bench-router', ...env });
    const samplers = [consumer, router].map((p) => new CpuSampler(p.child.pid as number));
    const broker = new CpuSampler(brokerPid);
    try {
      await predictions.waitFor((items) => items.length >= warmup + images, 600_000, () => `${predictions.items.length} of ${warmup + images} predictions`);
    } finally {
      for (const sampler of [...samplers, broker]) sampler.stop();
    }
    const times = predictions.items.map((p) => p.value.predicted_at).sort((a, b) => a - b);
    const from = times[warmup - 1] as number;
    const to = times[times.length - 1] as number;
    const ips = (times.length - warmup) / ((to - from) / 1000);
    const cpuMs = samplers.reduce((sum, sampler) => sum + (cpuBetween(sampler.samples, from, to) ?? NaN), 0);
    const result = {
      ips, cpuMsPerImage: cpuMs / (times.length - warmup), window: { from, to },
      brokerCpuMsPerImage: (cpuBetween(broker.samples, from, to) ?? NaN) / (times.length - warmup),
    };
    log(`  ${mode}: ${ips.toFixed(0)} images/s, ${result.cpuMsPerImage.toFixed(3)} CPU ms per image (router + consumer)`);
    return result;
  } finally {
    await h.close();
  }
}

async function run(mode: Mode, uris: string[], images: number, profileDir: string | undefined, brokerPid: number): Promise<RunResult> {
  const env = new EnvReader({ ...MODES[mode], OTEL_SERVICE_NAME: 'bench-producer' });
  const settings = readTracingSettings(env, 'bench-producer');
  env.done();
  const tracing = startTracing(settings);
  try {
    return await pipelineWithCpu(mode, uris, images, profileDir, brokerPid);
  } finally {
    await tracing.shutdown();
  }
}

/**
 * CPU µs per image of the spans themselves, in this process: for chunks of 32 records whose traceparents carry the
 * sampling decision a traced publisher would make, the router's process and send spans and the consumer's chunk,
 * request, stage, model-call and send spans, with the real OTLP export to Jaeger flushed at the end. Steadier than
 * the pipeline's figures on a loaded machine: nothing else is in the loop.
 */
async function spanCpuPerImage(mode: Mode, images: number): Promise<number> {
  const env = new EnvReader({ ...MODES[mode], OTEL_SERVICE_NAME: 'bench-spans' });
  const settings = readTracingSettings(env, 'bench-spans');
  env.done();
  const tracing = startTracing(settings);
  try {
    const chunks = Array.from({ length: Math.ceil(images / 32) }, (_, c) => Array.from({ length: 32 }, (_, i): KafkaMessage => {
      const root = startSendSpan({ topic: 'bench.requests', key: `r${c}-${i}` });
      root.end();
      return { key: Buffer.from(`r${c}-${i}`), value: null, offset: String(i), timestamp: '0', attributes: 0, headers: { [TRACEPARENT]: spanTraceparent(root) ?? newTraceparent() } };
    }));
    const started = process.cpuUsage();
    for (const records of chunks) {
      for (const message of records) {
        const route = startProcessSpan({ topic: 'bench.requests', partition: 0, offset: message.offset, key: 'k', consumerGroup: 'bench.router', traceparent: String(message.headers?.[TRACEPARENT]) });
        const send = startSendSpan({ topic: 'bench.requests.v1', key: 'k' }, route);
        message.headers = { [TRACEPARENT]: spanTraceparent(send) ?? childTraceparent(String(message.headers?.[TRACEPARENT])) };
        route.end();
        send.end();
      }
      const spans = startChunkSpans(records, records, { topic: 'bench.requests.v1', partition: 0, consumerGroup: 'bench.inference-v1', model: 'fashion-mnist', version: 'v1' });
      const items = records.map((message) => ({ message, request: { uri: 'file:///x.png' } as RoutedRequest }));
      for (const item of items) {
        await (spans ? spans.stage(item, 'fetch', async () => undefined) : undefined);
        await (spans ? spans.stage(item, 'preprocess', async () => undefined) : undefined);
      }
      await (spans ? spans.modelCall(items, async () => undefined) : undefined);
      const sends = records.map((message) => {
        const parent = spans?.requestSpan(message);
        const predicted = parent ? startSendSpan({ topic: 'bench.predictions', key: 'k' }, parent) : undefined;
        spanTraceparent(predicted);
        return predicted;
      });
      spans?.end(new Map());
      for (const predicted of sends) predicted?.end();
    }
    // The export of what was recorded counts too.
    await tracing.shutdown();
    const used = process.cpuUsage(started);
    return (used.user + used.system) / (chunks.length * 32);
  } catch (err) {
    await tracing.shutdown();
    throw err;
  }
}

/**
 * Main-thread CPU µs per image that each tracing mode adds to tracing off, by package and by function (the largest
 * first), from the router's and the consumer's profiles of every round, counting only the samples taken while the
 * measured images were served: start-up, the model's load and the exporter's first connection are a service's
 * once, not per image.
 */
interface ModeDifference {
  main_thread_total: number;
  tracing_code: number;
  tracing_code_pct_of_off: number;
  packages: Record<string, number>;
  functions: Record<string, number>;
}

interface ProfileDifferences {
  off_main_thread_total: number;
  default_sampler_minus_off: ModeDifference;
  sampled_100_minus_off: ModeDifference;
}

function profileDifferences(dir: string, windows: Record<Mode, WallWindows>, imagesProcessed: number): ProfileDifferences {
  const off = selfTimeOfDir(join(dir, 'off'), REPO_ROOT, windows.off);
  const perImage = (rows: [string, number][]) => Object.fromEntries(rows.map(([k, ms]) => [k, round1((ms * 1000) / imagesProcessed)]));
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const tracingCode = (files: Map<string, number>) => [...files].reduce((sum, [file, ms]) => sum + (TRACING_CODE.test(file) ? ms : 0), 0);
  const offUs = (total(off.packages) * 1000) / imagesProcessed;
  const minusOff = (mode: 'default_sampler' | 'sampled_100'): ModeDifference => {
    const on = selfTimeOfDir(join(dir, mode), REPO_ROOT, windows[mode]);
    const tracingUs = ((tracingCode(on.files) - tracingCode(off.files)) * 1000) / imagesProcessed;
    return {
      main_thread_total: round1(((total(on.packages) - total(off.packages)) * 1000) / imagesProcessed),
      // Self time in OpenTelemetry's packages and our tracing modules: the cost tracing adds, read directly
      // rather than as the difference of two noisy totals (the code it calls into, e.g. crypto, is not in it).
      tracing_code: round1(tracingUs),
      tracing_code_pct_of_off: round1((tracingUs / offUs) * 100),
      packages: perImage(largestDifferences(on.packages, off.packages, 12)),
      functions: perImage(largestDifferences(on.functions, off.functions, 15)),
    };
  };
  return { off_main_thread_total: round1(offUs), default_sampler_minus_off: minusOff('default_sampler'), sampled_100_minus_off: minusOff('sampled_100') };
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, { options: { images: { type: 'string', default: '4000' }, rounds: { type: 'string', default: '5' }, profile: { type: 'string' } } });
  const images = Number(values.images);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(images) || images < 500) return void exitWithUsage(USAGE, '--images is an integer of at least 500');
  if (!Number.isInteger(rounds) || rounds < 1) return void exitWithUsage(USAGE, '--rounds is a positive integer');
  const stack = await acquireStack(log);
  const { started } = await startLocalStack({ only: ['jaeger'], log });
  try {
    const [kafka] = await localStackStatus({ only: ['kafka'] });
    if (kafka?.pid === undefined) throw new Error('the local stack\'s broker is not ours to measure (started elsewhere?); run `npm run stack -- up` first');
    const brokerPid = kafka.pid;
    const uris = await benchImages('fashion', join(REPO_ROOT, 'data', 'bench'), 2_000);
    const load: number[] = [loadavg()[0] ?? 0];
    const spanCpu: Record<Mode, number[]> = { off: [], default_sampler: [], sampled_100: [] };
    for (let r = 0; r < 3; r += 1) for (const mode of Object.keys(MODES) as Mode[]) spanCpu[mode].push(await spanCpuPerImage(mode, 20_000));
    log(`span CPU µs per image: ${JSON.stringify(spanCpu)}`);
    const ips: Record<Mode, number[]> = { off: [], default_sampler: [], sampled_100: [] };
    const cpu: Record<Mode, number[]> = { off: [], default_sampler: [], sampled_100: [] };
    const brokerCpu: Record<Mode, number[]> = { off: [], default_sampler: [], sampled_100: [] };
    const windows: Record<Mode, { from: number; to: number }[]> = { off: [], default_sampler: [], sampled_100: [] };
    const modes = Object.keys(MODES) as Mode[];
    for (let r = 0; r < rounds; r += 1) {
      // Rotated each round, so no mode always runs first (or last) on a machine whose load drifts.
      for (const mode of [...modes.slice(r % modes.length), ...modes.slice(0, r % modes.length)]) {
        log(`round ${r + 1}, tracing ${mode}`);
        const profileDir = values.profile === undefined ? undefined : join(values.profile, mode);
        if (profileDir) mkdirSync(profileDir, { recursive: true });
        const result = await run(mode, uris, images, profileDir, brokerPid);
        ips[mode].push(result.ips);
        cpu[mode].push(result.cpuMsPerImage);
        brokerCpu[mode].push(result.brokerCpuMsPerImage);
        windows[mode].push(result.window);
      }
      load.push(loadavg()[0] ?? 0);
    }
    const pct = (x: number): number => round1(x * 100);
    // The measured windows beside the profiles, so that they can be read again function by function.
    if (values.profile !== undefined) writeFileSync(join(values.profile, 'windows.json'), `${JSON.stringify(windows)}\n`);
    const profile = values.profile === undefined ? undefined : profileDifferences(values.profile, windows, rounds * images);
    const pipelineOffMs = median(cpu.off) + median(brokerCpu.off);
    process.stdout.write(`${JSON.stringify({
      bench: 'tracing-cost',
      model: 'fashion-mnist-v1', pipeline: 'router + 1 inference consumer, batch 32, at-least-once', images, rounds,
      images_per_s: Object.fromEntries(modes.map((m) => [m, { median: round1(median(ips[m])), runs: ips[m].map(round1) }])),
      cpu_ms_per_image: Object.fromEntries(modes.map((m) => [m, { median: round3(median(cpu[m])), runs: cpu[m].map(round3) }])),
      broker_cpu_ms_per_image: Object.fromEntries(modes.map((m) => [m, { median: round3(median(brokerCpu[m])), runs: brokerCpu[m].map(round3) }])),
      // Throughput on this shared machine moves by tens of percent between runs of one mode; CPU per image is the
      // steadier reading of the same cost (a CPU-bound pipeline's throughput is its cores over CPU per image).
      throughput_cost_pct: {
        default_sampler: pct(1 - median(ips.default_sampler) / median(ips.off)),
        sampled_100: pct(1 - median(ips.sampled_100) / median(ips.off)),
      },
      cpu_cost_pct: {
        default_sampler: pct(median(cpu.default_sampler) / median(cpu.off) - 1),
        sampled_100: pct(median(cpu.sampled_100) / median(cpu.off) - 1),
      },
      // The spans' own CPU per image in-process (minimum of 3 runs of 20,000 images), and that as a share of the
      // pipeline's CPU per image with tracing off: the cost the pipeline figures above measure through the noise.
      span_cpu_us_per_image: Object.fromEntries(modes.map((m) => [m, round1(Math.min(...spanCpu[m]))])),
      span_cpu_pct_of_pipeline: Object.fromEntries(modes.map((m) => [m, pct((Math.min(...spanCpu[m]) - Math.min(...spanCpu.off)) / 1000 / median(cpu.off))])),
      default_sampler: `${DEFAULT_SAMPLER} ${DEFAULT_SAMPLER_RATIO}`,
      exporter: `OTLP/HTTP protobuf to Jaeger ${JAEGER_ENV.OTEL_EXPORTER_OTLP_ENDPOINT} on this machine (its CPU is not counted)`,
      machine: { cpus: cpus().length, load_1m: load.map(round1) },
      ...(profile === undefined ? {} : {
        profile_us_per_image: profile,
        // What the tracing code's CPU is of all the CPU the pipeline spends per image with tracing off (router,
        // consumer and broker): on a machine the pipeline keeps busy, the throughput it costs.
        tracing_code_pct_of_pipeline_cpu: {
          default_sampler: round1((profile.default_sampler_minus_off.tracing_code / 1000 / pipelineOffMs) * 100),
          sampled_100: round1((profile.sampled_100_minus_off.tracing_code / 1000 / pipelineOffMs) * 100),
        },
      }),
    })}\n`);
  } finally {
    if (started.length > 0) await stopLocalStack({ only: started, log });
    await stack.stop();
  }
}

await main();
