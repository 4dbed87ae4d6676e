/**
 * The rollout controller's I/O around the pure state machine (machine.ts).
 *
 * Inputs, in its own consumer group: operators' commands, DriftReports and dead letters. Outputs, in ONE Kafka
 * transaction per round of decisions: the decision records (rollouts topic), the experiments they publish
 * (experiments topic, read_committed by the routers) and the consumed offsets of all inputs. So a command is
 * answered exactly once, and a decision and its experiment are both visible or neither is.
 *
 * State after a restart: each rollout's latest decision on the rollouts topic (read to its end first) gives
 * its status and step. The step's evidence is not stored: it is rebuilt by reading the DriftReports and dead
 * letters again from the step's start time (reports under the step's experiment id cannot be older), where the
 * consumer seeks before its first fetch. Guards are evaluated only once that replay has caught up, so a
 * restarted controller resumes the same step and decides from the same evidence it had.
 */
import type { Admin, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { ReadProgress, type PartitionEnd } from '../platform/consumer/read-progress.ts';
import { createTransactionalProducer } from '../platform/kafka.ts';
import type { Logger } from '../platform/logger.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import { PipelineError } from '../platform/errors.ts';
import { newTraceparent, TRACEPARENT } from '../platform/trace.ts';
import { recordFailure, spanTraceparent, startSendSpan } from '../platform/tracing.ts';
import { experimentMessage } from '../router/experiment-publisher.ts';
import { DecisionLog } from './decision-log.ts';
import { summariseStream, type DeadLetterInput, type DriftReportInput, type StreamSummary } from './evidence.ts';
import { formatDecision } from './format.ts';
import type { GuardResult } from './guards.ts';
import {
  applyCommand,
  applyDeadLetter,
  applyReport,
  createControllerState,
  currentGuards,
  evaluate,
  isActive,
  restoreState,
  type ControllerState,
  type Decision,
  type RolloutCommand,
} from './machine.ts';
import { recordRollout, type RolloutMetrics } from './metrics.ts';
import { decisionKey, toDecisionRecord, type StoredDecision } from './records.ts';
import type { ControllerSettings } from './settings.ts';
import type { RolloutSpec } from './spec.ts';

export interface ControllerTopics {
  decisions: string;
  commands: string;
  experiments: string;
  drift: string;
  dlq: string;
}

export interface ControllerOptions {
  kafka: Kafka;
  admin: Admin;
  serde: AvroSerde;
  topics: ControllerTopics;
  settings: ControllerSettings;
  logger: Logger;
  metrics: RolloutMetrics;
  /** The controller cannot go on (a transaction failed): exit so the supervisor restarts it from the topics. */
  onFatal: (err: unknown) => void;
}

/** Reports of a step are published after it started; this much earlier covers clock skew between hosts. */
const REPLAY_MARGIN_MS = 60_000;
/** Offsets alone (no decision) are committed at most this often. */
const OFFSET_COMMIT_INTERVAL_MS = 5_000;

type Positions = Map<string, Map<number, number>>;

export interface RolloutView {
  id: string;
  status: string;
  step_index: number;
  step_name: string;
  step_count: number;
  step_started_at: number;
  started_at: number;
  spec: RolloutSpec;
  /** Evaluated now for an active rollout; those of its last decision otherwise. */
  guards: GuardResult[];
  candidate_stats: StreamSummary | null;
  baseline_stats: StreamSummary | null;
  decisions: Omit<StoredDecision, 'spec'>[];
}

export class RolloutController {
  private state: ControllerState = createControllerState();
  private history: StoredDecision[] = [];
  private readonly positions: Positions = new Map();
  private committedPositions = '';
  private lastOffsetCommit = 0;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private readProgress: ReadProgress | undefined;
  private replay: { ends: Map<string, PartitionEnd[]>; starts: Map<string, number> } | null = null;
  private caughtUp = false;
  private joined = false;
  private ticker: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly o: ControllerOptions) {
    this.log = o.logger;
  }

  ready(): boolean {
    return this.joined && this.caughtUp;
  }

  private clock() {
    return { now: Date.now(), updatedBy: `rollouts/${this.o.settings.controllerId}` };
  }

  async start(): Promise<void> {
    const { kafka, topics, settings } = this.o;
    const decisionLog = await new DecisionLog({ kafka, admin: this.o.admin, serde: this.o.serde, topic: topics.decisions, prefix: settings.kafka.topicPrefix, logger: this.log }).start();
    await decisionLog.caughtUp();
    this.history = decisionLog.decisions;
    await decisionLog.stop();
    this.state = restoreState(this.history);
    const active = Object.values(this.state.rollouts).filter((r) => isActive(r.status));
    for (const r of active) {
      this.log.info({ rollout: r.spec.id, status: r.status, step: r.step_index + 1, stepName: r.spec.steps[r.step_index]!.name, seq: r.seq },
        `resuming rollout ${r.spec.id} at step ${r.step_index + 1} "${r.spec.steps[r.step_index]!.name}" (${r.status}, decision #${r.seq}); reading its evidence again from the step's start`);
    }
    for (const r of Object.values(this.state.rollouts)) recordRollout(this.o.metrics, r, isActive(r.status) ? [] : this.lastGuards(r.spec.id));

    this.producer = createTransactionalProducer(kafka, settings.transactionalId, settings.transactionTimeoutMs);
    await this.producer.connect();

    // One member per group: a short session lets a restarted controller take over from a killed one in seconds.
    const consumer = kafka.consumer({ groupId: settings.groupId, maxWaitTimeInMs: 250, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    this.consumer = consumer;
    this.readProgress = new ReadProgress(consumer);
    consumer.on(consumer.events.GROUP_JOIN, () => { this.joined = true; });
    consumer.on(consumer.events.CRASH, () => { this.joined = false; });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.commands, topics.drift, topics.dlq], fromBeginning: true });
    const replayFrom = active.length > 0 ? Math.min(...active.map((r) => r.step_started_at)) - REPLAY_MARGIN_MS : null;
    this.replay = await this.replayPlan(replayFrom);
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.enqueue(() => this.handleBatch(payload)) });
    if (replayFrom !== null) {
      for (const [topic, ends] of this.replay.ends) {
        for (const p of ends) consumer.seek({ topic, partition: p.partition, offset: String(this.replay.starts.get(`${topic}:${p.partition}`) ?? 0) });
      }
    }
    this.ticker = setInterval(() => void this.enqueue(() => this.tick()).catch((err: unknown) => this.o.onFatal(err)), settings.tickMs);
  }

  /**
   * Where the evidence topics are read from (the step's start, or the committed offsets with no rollout
   * active) and where they end now: guards wait until that replay is done.
   */
  private async replayPlan(from: number | null): Promise<{ ends: Map<string, PartitionEnd[]>; starts: Map<string, number> }> {
    const { admin, topics, settings } = this.o;
    const ends = new Map<string, PartitionEnd[]>();
    const starts = new Map<string, number>();
    for (const topic of [topics.drift, topics.dlq]) {
      ends.set(topic, (await admin.fetchTopicOffsets(topic)).map((e) => ({ ...e, topic })));
      const offsets = from !== null
        ? await admin.fetchTopicOffsetsByTimestamp(topic, Math.max(0, from))
        : ((await admin.fetchOffsets({ groupId: settings.groupId, topics: [topic] }))[0]?.partitions ?? []);
      for (const p of offsets) starts.set(`${topic}:${p.partition}`, Number(p.offset));
    }
    return { ends, starts };
  }

  private updateCaughtUp(): void {
    if (this.caughtUp || !this.replay || !this.readProgress) return;
    const progress = this.readProgress;
    const starts = this.replay.starts;
    // A partition read from at or past its end when the replay began has nothing to replay (and may never fetch).
    this.caughtUp = [...this.replay.ends].every(([topic, ends]) => ends.every((p) => {
      const from = starts.get(`${topic}:${p.partition}`) ?? -1;
      return Number(p.high) <= Number(p.low) || from >= Number(p.high) || progress.hasReached([p]);
    }));
    if (this.caughtUp) this.log.info('evidence topics read up to where they ended at start; guards are evaluated from now on');
  }

  /** Runs tasks one at a time: batches and ticks both read and change the state. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async decode(topic: string, message: KafkaMessage): Promise<unknown | null> {
    try {
      return await this.o.serde.decode(message.value);
    } catch (err) {
      // The registry being unreachable is not the record's fault: fail the batch so kafkajs retries it.
      if (err instanceof PipelineError && err.transient) throw err;
      this.o.metrics.inputs.inc({ topic, result: 'undecodable' });
      this.log.warn({ err, topic, offset: message.offset }, 'record does not decode; skipped');
      return null;
    }
  }

  private async handleBatch({ batch }: EachBatchPayload): Promise<void> {
    const { topics } = this.o;
    // Decoded first, so a retried batch has changed nothing.
    const values = await Promise.all(batch.messages.map((m) => this.decode(batch.topic, m)));
    const clock = this.clock();
    const decisions: Decision[] = [];
    values.forEach((value) => {
      if (value === null) return;
      let used = 0;
      if (batch.topic === topics.commands) {
        decisions.push(applyCommand(this.state, value as RolloutCommand, clock));
        used = 1;
      } else if (batch.topic === topics.drift) {
        used = applyReport(this.state, value as DriftReportInput);
      } else if (batch.topic === topics.dlq) {
        used = applyDeadLetter(this.state, value as DeadLetterInput);
      }
      this.o.metrics.inputs.inc({ topic: batch.topic, result: used > 0 ? 'used' : 'ignored' });
    });
    const last = batch.messages[batch.messages.length - 1];
    if (last) this.position(batch.topic, batch.partition, Number(last.offset) + 1);
    if (decisions.length > 0) await this.commit(decisions).catch((err: unknown) => this.o.onFatal(err));
  }

  private position(topic: string, partition: number, next: number): void {
    let byPartition = this.positions.get(topic);
    if (!byPartition) this.positions.set(topic, (byPartition = new Map()));
    byPartition.set(partition, next);
  }

  private async tick(): Promise<void> {
    this.updateCaughtUp();
    if (!this.caughtUp) return;
    const decisions = evaluate(this.state, this.clock());
    if (decisions.length > 0) {
      await this.commit(decisions);
    } else if (Date.now() - this.lastOffsetCommit >= OFFSET_COMMIT_INTERVAL_MS && this.offsetsJson() !== this.committedPositions) {
      await this.commit([]);
    }
    for (const r of Object.values(this.state.rollouts)) if (isActive(r.status)) recordRollout(this.o.metrics, r, currentGuards(r));
  }

  private offsetsJson(): string {
    return JSON.stringify([...this.positions].map(([topic, parts]) => [topic, [...parts]]));
  }

  /** Decisions, their experiments and the consumed offsets in one transaction. */
  private async commit(decisions: Decision[]): Promise<void> {
    const { serde, topics, settings } = this.o;
    // Each decision starts a trace of its own: a send span that lasts until the transaction is committed.
    const spans = decisions.map((d) => startSendSpan({ topic: topics.decisions, key: decisionKey(d) }));
    decisions.forEach((d, i) => spans[i]?.setAttributes({ 'imgpipe.rollout.id': d.rollout_id, 'imgpipe.rollout.decision': d.decision, 'imgpipe.rollout.reason': d.reason }));
    const decisionMessages = await Promise.all(decisions.map(async (d, i) => ({
      key: decisionKey(d),
      value: await serde.encode(topics.decisions, 'RolloutDecision', toDecisionRecord(d, settings.controllerId)),
      headers: { [TRACEPARENT]: spanTraceparent(spans[i]) ?? newTraceparent() },
    })));
    const experimentMessages = await Promise.all(decisions.filter((d) => d.experiment !== null && d.spec !== null)
      .map((d) => experimentMessage(serde, topics.experiments, d.spec!.table, d.experiment!)));
    const offsets = this.offsetsJson();
    const transaction = await this.producer!.transaction();
    try {
      if (decisionMessages.length > 0) await transaction.send({ topic: topics.decisions, messages: decisionMessages });
      if (experimentMessages.length > 0) await transaction.send({ topic: topics.experiments, messages: experimentMessages });
      const offsetTopics = [...this.positions].map(([topic, parts]) => ({ topic, partitions: [...parts].map(([partition, offset]) => ({ partition, offset: String(offset) })) }));
      if (offsetTopics.length > 0) await transaction.sendOffsets({ consumerGroupId: settings.groupId, topics: offsetTopics });
      await transaction.commit();
    } catch (err) {
      await transaction.abort().catch(() => undefined);
      for (const span of spans) recordFailure(span, err);
      throw err;
    } finally {
      for (const span of spans) span.end();
    }
    this.committedPositions = offsets;
    this.lastOffsetCommit = Date.now();
    this.o.metrics.transactions.inc({ kind: decisions.length > 0 ? 'decisions' : 'offsets' });
    for (const d of decisions) this.committed(d);
  }

  private committed(d: Decision): void {
    const stored: StoredDecision = { ...d, experiment_id: d.experiment?.id ?? null, controller_id: this.o.settings.controllerId };
    this.history.push(stored);
    this.o.metrics.decisions.inc({ rollout: d.rollout_id, decision: d.decision });
    const r = this.state.rollouts[d.rollout_id];
    if (r) recordRollout(this.o.metrics, r, d.guards);
    const fields = { event: 'rollout_decision', rollout: d.rollout_id, seq: d.seq, decision: d.decision, step: d.step_index + 1, experiment: d.experiment?.id ?? null,
      guards: d.guards.map((g) => ({ name: g.name, outcome: g.outcome, observed: g.observed, limit: g.limit })) };
    const text = formatDecision(d);
    if (d.decision === 'rolled_back' || d.decision === 'rejected') this.log.warn(fields, text);
    else this.log.info(fields, text);
  }

  private lastGuards(rolloutId: string) {
    return [...this.history].reverse().find((d) => d.rollout_id === rolloutId && d.decision !== 'rejected')?.guards ?? [];
  }

  /** GET /api/rollouts: every rollout with its live guards and its decision history, newest rollouts first. */
  view(): { controller_id: string; generated_at: number; evaluating: boolean; rollouts: RolloutView[] } {
    const rollouts = Object.values(this.state.rollouts).map((r): RolloutView => {
      const active = isActive(r.status);
      const last = [...this.history].reverse().find((d) => d.rollout_id === r.spec.id && d.decision !== 'rejected');
      return {
        id: r.spec.id, status: r.status, step_index: r.step_index, step_name: r.spec.steps[r.step_index]!.name, step_count: r.spec.steps.length,
        step_started_at: r.step_started_at, started_at: r.started_at, spec: r.spec,
        guards: active ? currentGuards(r) : (last?.guards ?? []),
        candidate_stats: active ? summariseStream(r.evidence.candidate) : (last?.candidate_stats ?? null),
        baseline_stats: active ? summariseStream(r.evidence.baseline) : (last?.baseline_stats ?? null),
        decisions: this.history.filter((d) => d.rollout_id === r.spec.id).map(({ spec: _spec, ...rest }) => rest),
      };
    }).sort((a, b) => b.started_at - a.started_at);
    return { controller_id: this.o.settings.controllerId, generated_at: Date.now(), evaluating: this.caughtUp, rollouts };
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    await this.consumer?.disconnect();
    await this.queue;
    await this.producer?.disconnect();
  }
}
