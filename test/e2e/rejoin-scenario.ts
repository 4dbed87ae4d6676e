/**
 * The gateway's answers and the drift monitor's counts across consumer-group rejoins, on the real pipeline
 * (gateway, router, a v1 consumer, drift monitor): requests go through the gateway's HTTP API (three in four
 * asynchronous, one in four synchronous) while the predictions topic gains partitions (4 → 8) and `disturb`
 * does what makes the producers and readers notice (a consumer restart, or a broker restart). Then:
 * - every request the gateway accepted must get its answer (200 from the synchronous call, or from
 *   /v2/results once the prediction exists), and that answer must be the served prediction on the topic for its
 *   request id: lost = still pending or unknown after the answers had PARTITION_DISCOVERY_MS and more to arrive;
 * - the drift monitor counted every prediction record on the topic once (as counted, or as a duplicate of a
 *   request published twice), and read none of them twice (drift_records_reread_total: a replay after a rejoin).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { writeSamples, type Sample } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import { freePort, type RunningProcess } from '../../stack/pipeline-services.ts';

const TOKEN = 'rejoin-client-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
/** Answers were given this long, after every prediction was on the topic, to reach the gateway. */
const ANSWER_GRACE_MS = 60_000;

export interface RejoinFigures {
  scenario: string;
  requests_sent: number;
  /** Accepted by the gateway (202, 200 or 504): it owes each of them an answer. */
  tracked: number;
  /** Refused at the door while the broker was away (503): the client was told at once. */
  refused: number;
  answered: number;
  lost: number;
  wrong: number;
  predictions_on_topic: number;
  prediction_partitions_used: number;
  drift_counted: number;
  drift_reread: number;
  seconds: number;
}

interface Tracked {
  requestId: string;
  location: string;
  /** The synchronous call's answer, when it came within its timeout. */
  answer?: Answer;
}

interface Answer {
  model_version: string;
  parameters?: { request_id?: string };
  outputs: { name: string; data: unknown[] }[];
}

export class RejoinScenario {
  readonly h = new PipelineHarness();
  gateway!: RunningProcess;
  monitor!: RunningProcess;
  inference: RunningProcess[] = [];
  private base = '';
  private samples: { sample: Sample; body: Buffer }[] = [];
  private readonly log: (line: string) => void;

  constructor(readonly name: string) {
    this.log = (line) => void process.stderr.write(`[${name} ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
  }

  env(): Record<string, string> {
    return { KAFKA_SESSION_TIMEOUT_MS: '10000', PAUSE_MAX_MS: '5000', LOG_LEVEL: 'info' };
  }

  async start(): Promise<void> {
    const { h } = this;
    await h.connect();
    const set = await writeSamples(join(REPO_ROOT, 'data', 'samples', 'rejoin'), 'lossless', 50);
    this.samples = await Promise.all(set.samples.map(async (sample) => ({ sample, body: await readFile(join(set.dir, sample.file)) })));
    await h.setExperiment({ id: 'rejoin-v1', versions: ['v1'], default_version: 'v1', rules: [{ id: 'all', split: [{ version: 'v1', weight: 100 }] }] });
    const port = await freePort();
    const [, inference, monitor, gateway] = await Promise.all([
      h.start('router', 'router', this.env()),
      h.start('inference-v1-1', 'inference', { ...this.env(), MODEL_VERSION: 'v1' }),
      h.start('drift-monitor', 'drift-monitor', { ...this.env(), DRIFT_SNAPSHOT_INTERVAL_MS: '2000' }),
      h.start('gateway', 'gateway', {
        ...this.env(), GATEWAY_PORT: String(port), GATEWAY_TOKENS: `rejoin:${TOKEN}`, GATEWAY_RATE_LIMIT: '0',
        GATEWAY_MAX_IN_FLIGHT_PER_CLIENT: '256', GATEWAY_MAX_TRACKED_PER_CLIENT: '5000', GATEWAY_UPLOAD_PREFIX: `${h.prefix}/uploads/`,
      }),
    ]);
    this.inference = [inference];
    this.monitor = monitor;
    this.gateway = gateway;
    this.base = `http://127.0.0.1:${port}`;
    this.log('pipeline up: gateway, router, v1 consumer, drift monitor');
  }

  /** Restarts the v1 consumer: a new process reads fresh metadata and produces to every partition at once. */
  async restartInference(): Promise<void> {
    for (const p of this.inference.splice(0)) await p.stop();
    this.inference.push(await this.h.start(`inference-v1-${Date.now()}`, 'inference', { ...this.env(), MODEL_VERSION: 'v1' }));
    this.log('v1 consumer restarted');
  }

  /**
   * Sends requests at `perSecond`: `before` of them, then more while the partitions are added and `disturb` runs
   * and until the gateway is ready again (refused ones included), then `after` more.
   */
  async run(before: number, after: number, perSecond: number, disturb: () => Promise<void>): Promise<RejoinFigures> {
    const started = Date.now();
    const tracked: Tracked[] = [];
    let refused = 0;
    let sent = 0;
    const calls: Promise<void>[] = [];
    const sendPaced = async (until: () => boolean): Promise<void> => {
      while (!until()) {
        const i = sent++;
        calls.push(this.send(i, i % 4 === 3).then((t) => {
          if (t) tracked.push(t);
          else refused += 1;
        }));
        await new Promise((r) => setTimeout(r, 1000 / perSecond));
      }
    };
    await sendPaced(() => sent >= before);
    let disturbed = false;
    const disturbance = (async () => {
      await this.h.clients.admin.createPartitions({ topicPartitions: [{ topic: this.h.clients.topics.predictions, count: 8 }] });
      this.log(`predictions topic: 4 → 8 partitions (after ${sent} requests)`);
      await disturb();
    })().finally(() => { disturbed = true; });
    await sendPaced(() => disturbed);
    await disturbance;
    // The gateway refuses requests (503) until its listener is back in its group; the rest go to a ready one.
    let waiting = true;
    const readiness = (async () => {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && (await fetch(`${this.base}/v2/health/ready`).catch(() => undefined))?.status !== 200) {
        await new Promise((r) => setTimeout(r, 250));
      }
    })().finally(() => { waiting = false; });
    await sendPaced(() => !waiting);
    await readiness;
    const during = sent - before;
    await sendPaced(() => sent >= before + during + after);
    await Promise.all(calls);
    await disturbance;
    this.log(`sent ${sent} (${during} while disturbed): ${tracked.length} tracked, ${refused} refused`);

    // Every prediction must exist before an answer can be owed. Read after the partitions were added, so the
    // reader knows all eight from its start.
    const predictions = await this.h.collect<Prediction>(this.h.clients.topics.predictions);
    const served = (): Map<string, Prediction> => new Map(predictions.items.filter((p) => !p.value.shadow).map((p) => [p.value.request_id, p.value]));
    await predictions.waitFor(() => tracked.every((t) => served().has(t.requestId)), 300_000,
      () => `${tracked.filter((t) => served().has(t.requestId)).length} of ${tracked.length} tracked requests predicted`);
    this.log('every tracked request has its prediction on the topic');

    const byId = served();
    const deadline = Date.now() + ANSWER_GRACE_MS;
    let answered = 0;
    let lost = 0;
    let wrong = 0;
    for (const t of tracked) {
      const answer = t.answer ?? await this.poll(t.location, deadline);
      if (!answer) {
        lost += 1;
        continue;
      }
      answered += 1;
      const p = byId.get(t.requestId) as Prediction;
      const label = answer.outputs.find((o) => o.name === 'label')?.data[0];
      if (answer.parameters?.request_id !== t.requestId || answer.model_version !== p.model_version || label !== p.predicted_label) wrong += 1;
    }

    // The drift monitor catches up to what is on the topic (bounded), then its counters are read.
    const onTopic = predictions.items.length;
    const driftDeadline = Date.now() + 60_000;
    let metrics = await this.driftMetrics();
    while (metrics.counted < onTopic && Date.now() < driftDeadline) {
      await new Promise((r) => setTimeout(r, 500));
      metrics = await this.driftMetrics();
    }
    return {
      scenario: this.name,
      requests_sent: sent,
      tracked: tracked.length,
      refused,
      answered,
      lost,
      wrong,
      predictions_on_topic: onTopic,
      prediction_partitions_used: new Set(predictions.items.map((p) => p.partition)).size,
      drift_counted: metrics.counted,
      drift_reread: metrics.reread,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  }

  /** One inference request; undefined when the gateway refused it at the door (the broker away: 503). */
  private async send(i: number, sync: boolean): Promise<Tracked | undefined> {
    const { body } = this.samples[i % this.samples.length] as { body: Buffer };
    const request = { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [body.toString('base64')] }], parameters: sync ? {} : { async: true } };
    let res: Response;
    try {
      res = await fetch(`${this.base}/v2/models/fashion-mnist/infer`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(request) });
    } catch (err) {
      throw new Error(`request ${i}: the gateway did not answer (${(err as Error).message})`, { cause: err });
    }
    const json = await res.json() as Record<string, unknown>;
    const requestId = res.headers.get('x-request-id') ?? String(json.request_id ?? '');
    if (res.status === 503) return undefined;
    if (res.status === 200) {
      const answer = json as unknown as Answer;
      return { requestId: answer.parameters?.request_id ?? requestId, location: '', answer };
    }
    if (res.status === 202) return { requestId: String(json.request_id), location: String(json.result) };
    if (res.status === 504) return { requestId, location: res.headers.get('location') as string };
    throw new Error(`request ${i}: unexpected ${res.status} ${JSON.stringify(json)}`);
  }

  /** The answer at `location`, or undefined when still pending at `deadline` or unknown (404). */
  private async poll(location: string, deadline: number): Promise<Answer | undefined> {
    for (;;) {
      const res = await fetch(`${this.base}${location}`, { headers: auth });
      if (res.status === 200) return await res.json() as Answer;
      if (res.status !== 202 || Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async driftMetrics(): Promise<{ counted: number; reread: number }> {
    const text = await (await fetch(`${this.monitor.opsUrl}/metrics`)).text();
    const sum = (re: RegExp): number => text.split('\n').filter((l) => re.test(l)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    return { counted: sum(/^drift_predictions_total\{/), reread: sum(/^drift_records_reread_total\{.*topic="[^"]*predictions"/) };
  }

  close(): Promise<void> {
    return this.h.close();
  }
}

/** What both rejoin scenarios require: every tracked request answered right, each prediction counted once. */
export function expectEveryAnswer(f: RejoinFigures): void {
  expect(f.prediction_partitions_used, 'predictions on the added partitions too').toBeGreaterThan(4);
  expect([f.lost, f.wrong], 'lost and wrong answers').toEqual([0, 0]);
  expect(f.answered).toBe(f.tracked);
  expect(f.drift_counted, 'drift monitor: predictions counted').toBe(f.predictions_on_topic);
  expect(f.drift_reread, 'drift monitor: predictions read twice (a replay after a rejoin)').toBe(0);
}
