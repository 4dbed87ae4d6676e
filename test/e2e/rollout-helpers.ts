/** Shared by the rollout and fallback end-to-end tests: steady labelled traffic, and rollouts through the controller. */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EnvReader } from '../../platform/config.ts';
import { readKafkaSettings } from '../../platform/kafka-config.ts';
import { ensureTopics } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { newImageRequest, type ImageRequest } from '../../producers/image-request.ts';
import { Pacer } from '../../producers/pacer.ts';
import { newCommand, sendCommand } from '../../rollouts/commands.ts';
import type { RolloutDecisionRecord } from '../../rollouts/records.ts';
import { checkRolloutSpec } from '../../rollouts/spec.ts';
import { rolloutTopics, rolloutTopicSpecs } from '../../rollouts/topics.ts';
import { FASHION_MNIST_LABELS } from '../../scripts/samples/fashion-mnist.ts';
import { writeSamples, type SampleKind, type SampleSet } from '../../scripts/samples/write-samples.ts';
import { PipelineHarness, REPO_ROOT } from '../../stack/pipeline-harness.ts';
import type { TopicCollector } from '../../stack/topic-collector.ts';

export const DATA_DIR = join(REPO_ROOT, 'data', 'samples');

/** Inference consumers as the tests run them: file:// images under data/samples. */
export function consumerEnv(version: string): Record<string, string> {
  return { MODEL_VERSION: version, FETCH_FILE_ROOTS: DATA_DIR, MAX_BATCH_SIZE: '32' };
}

export function samples(kind: SampleKind, count: number, offset: number): Promise<SampleSet> {
  return writeSamples(join(DATA_DIR, `e2e-rollout-${kind}-${offset}`), kind, count, offset);
}

/**
 * Publishes requests for `set`'s images at `rate` per second (stickiness keys from 200 users) until stopped,
 * each followed by its ground-truth feedback when `feedback` is on.
 */
export class Traffic {
  readonly published: ImageRequest[] = [];
  private running = true;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly h: PipelineHarness, private readonly set: SampleSet, private readonly o: { rate: number; feedback: boolean }) {}

  start(): this {
    this.loop = this.run();
    return this;
  }

  private async run(): Promise<void> {
    const pacer = new Pacer(this.o.rate);
    const step = Math.max(1, Math.round(this.o.rate / 5));
    for (let i = 0; this.running; i += step) {
      await pacer.next(step);
      const batch = Array.from({ length: step }, (_, k) => {
        const sample = this.set.samples[(i + k) % this.set.samples.length]!;
        const request = newImageRequest(pathToFileURL(join(this.set.dir, sample.file)).href, { stickinessKey: `user-${(i + k) % 200}`, source: 'e2e-rollout' });
        return { request, sample };
      });
      await this.retrying(() => this.h.publish(batch.map((b) => b.request)));
      this.published.push(...batch.map((b) => b.request));
      if (this.o.feedback) {
        await this.retrying(() => this.h.publisher.publishFeedback(batch.map(({ request, sample }) => ({
          request_id: request.request_id, true_label: FASHION_MNIST_LABELS[sample.labelIndex]!, true_index: sample.labelIndex, observed_at: Date.now(), source: 'e2e',
        }))));
      }
    }
  }

  /**
   * A failed publish is tried again (the same records: a duplicate is harmless here) rather than ending the traffic:
   * the shared registry sometimes answers a first registration of a subject with a spurious 409.
   */
  private async retrying(publish: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await publish();
      } catch (err) {
        if (attempt >= 5 || !this.running) throw err;
        process.stderr.write(`traffic: publish failed (${(err as Error).message.slice(0, 200)}); retrying\n`);
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Collects the rollouts topic (created first: the controller may not have started yet). */
export async function collectDecisions(h: PipelineHarness): Promise<TopicCollector<RolloutDecisionRecord>> {
  const topics = rolloutTopics(h.prefix);
  await ensureTopics(h.clients.admin, rolloutTopicSpecs(topics), readKafkaSettings(new EnvReader(), 'e2e-test'), createLogger('e2e', 'warn'));
  return h.collect<RolloutDecisionRecord>(topics.decisions);
}

/** Starts a rollout through the commands topic, as `npm run rollout -- start` does. */
export async function startRollout(h: PipelineHarness, declaration: unknown): Promise<string> {
  const spec = checkRolloutSpec(declaration);
  await sendCommand(h.clients.producer, h.clients.serde, rolloutTopics(h.prefix).commands, newCommand('start', spec.id, 'e2e', spec));
  return spec.id;
}

export function decisionsOf(collector: TopicCollector<RolloutDecisionRecord>, rolloutId: string): RolloutDecisionRecord[] {
  return collector.items.map((d) => d.value).filter((d) => d.rollout_id === rolloutId);
}

/** Waits for a decision of `rolloutId` that `match` accepts; the timeout message lists the decisions so far. */
export async function waitForDecision(
  collector: TopicCollector<RolloutDecisionRecord>,
  rolloutId: string,
  match: (d: RolloutDecisionRecord) => boolean,
  timeoutMs: number,
): Promise<RolloutDecisionRecord> {
  await collector.waitFor(() => decisionsOf(collector, rolloutId).some(match), timeoutMs,
    () => JSON.stringify(decisionsOf(collector, rolloutId).map((d) => ({ seq: d.seq, decision: d.decision, step: d.step_index, guards: d.guards.map((g) => `${g.name}:${g.outcome}:${g.message}`) }))));
  return decisionsOf(collector, rolloutId).find(match)!;
}

/** One line per decision, for the test output: the decision log of a run. */
export function printDecisions(test: string, decisions: RolloutDecisionRecord[], startedAt: number): void {
  for (const d of decisions) {
    process.stdout.write(`${JSON.stringify({
      test, rollout: d.rollout_id, seq: d.seq, decision: d.decision, step: `${d.step_index + 1}/${d.step_count} ${d.step_name}`, seconds: Number(((d.decided_at - startedAt) / 1000).toFixed(1)),
      candidate: d.candidate_stats && { windows: d.candidate_stats.windows, predictions: d.candidate_stats.predictions, labelled: d.candidate_stats.labelled, correct: d.candidate_stats.correct },
      guards: Object.fromEntries(d.guards.filter((g) => g.outcome !== 'off').map((g) => [g.name, `${g.outcome} ${g.observed === null ? '-' : g.observed.toFixed(3)}/${g.limit === null ? '-' : g.limit.toFixed(3)}`])),
    })}\n`);
  }
}
