/**
 * The drift monitor: images.predictions + images.feedback → windows per model version and variant → DriftReports on
 * images.drift, Prometheus metrics, and the dashboard at / on the ops port. Its state and the offsets it reflects
 * are snapshotted together to the compacted state topic, so a restart (or a crash) resumes exactly where the
 * last snapshot left off. Under exactly-once delivery the reports and dead letters are published in the same
 * transaction as the snapshot that counts them. Run one instance per DRIFT_MONITOR_ID: a second one fences the first.
 */
import { randomUUID } from 'node:crypto';
import { type ChunkProcessor, EMPTY_CHUNK } from '../platform/consumer/chunk-isolation.ts';
import { PARTITION_DISCOVERY_MS, resumeOnJoin } from '../platform/consumer/kept-positions.ts';
import { ReadProgress } from '../platform/consumer/read-progress.ts';
import { fittingDeadLetterLimits, startStreamLoop } from '../platform/consumer/stream-loop.ts';
import { connectClients } from '../platform/clients.ts';
import { deadLetterRecords, type FailedRecord } from '../platform/dead-letter.ts';
import { decodeChunk } from '../platform/decode-batch.ts';
import { groupIdFor } from '../platform/kafka-config.ts';
import { produceBudget } from '../platform/kafka.ts';
import { runService } from '../platform/service.ts';
import { buildDashboardState, streamTitle } from './analytics/dashboard-state.ts';
import type { DriftContext } from './analytics/drift-state.ts';
import { streamKey } from './analytics/stream-id.ts';
import type { WindowSummary } from './analytics/window-summary.ts';
import { dashboardRoutes } from './service/dashboard-routes.ts';
import { DriftProcessor, type ChunkResult } from './service/drift-processor.ts';
import { createDriftMetrics, forgetStreams, recordWindow, streamLabels } from './service/metrics.ts';
import { Outbox } from './service/outbox.ts';
import { defaultManifestPaths, loadReferences } from './service/references.ts';
import { reportRecords } from './service/report-publisher.ts';
import { SerialQueue } from './service/serial-queue.ts';
import { readDriftSettings } from './service/settings.ts';
import { SeverityTracker } from './service/severity-log.ts';
import { SnapshotStore } from './service/snapshot-store.ts';
import { AtLeastOnceStateWriter, FencedError, TransactionalStateWriter } from './service/state-writer.ts';
import { fetchEnds } from '../platform/topic-ends.ts';

/** How often time windows of quiet streams are closed, join entries expired and outputs/snapshots written. */
const TICK_MS = 1_000;

await runService({
  name: 'drift-monitor',
  readSettings: readDriftSettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry, fatal }) {
    const log = logger.child({ monitor: s.monitorId });
    const references = await loadReferences(s.manifestPaths ?? defaultManifestPaths());
    const ctx: DriftContext = { config: s.drift, referenceFor: references.lookup, calibrationFor: references.calibration };
    log.info({ models: references.models, calibrated: references.calibrated, window: s.drift.window.policy, thresholds: s.drift.window.thresholds }, 'model references loaded; other versions warm up a baseline');

    const clients = await connectClients(s, log);
    const { topics, serde, producer } = clients;
    const prefix = s.kafka.topicPrefix;
    const stateId = groupIdFor(prefix, s.monitorId);
    const budgetBytes = await produceBudget(clients.admin, [topics.drift, topics.dlq, topics.driftState], s.stream.produceMaxBytes);
    const writerOptions = { kafka: clients.kafka, admin: clients.admin, producer, id: stateId, budgetBytes, transactionTimeoutMs: s.stream.transactionTimeoutMs };
    const deadLetterLimits = fittingDeadLetterLimits(s.stream.dlqMaxValueBytes, budgetBytes, log);
    const exactlyOnce = s.stream.delivery === 'exactly-once';
    const transactional = exactlyOnce ? new TransactionalStateWriter(writerOptions) : undefined;
    const plain = new AtLeastOnceStateWriter(writerOptions);
    // Before reading the state: fences an older instance and settles its open transaction, which would otherwise
    // hold the state topic's read_committed end back.
    await transactional?.start();

    const store = new SnapshotStore({ kafka: clients.kafka, admin: clients.admin, producer, topic: topics.driftState, monitorId: s.monitorId, groupPrefix: prefix, logger: log });
    const restored = await store.readLatest();
    const processor = new DriftProcessor(ctx, topics, restored?.snapshot, stateId);
    log.info(restored
      ? { snapshotId: restored.commit.snapshot_id, createdAt: new Date(restored.snapshot.created_at).toISOString(), positions: processor.positions, bytes: restored.commit.bytes }
      : {}, restored ? 'state restored from snapshot; resuming at its offsets' : 'no snapshot on the state topic; starting from empty state at the earliest offsets');

    const metrics = createDriftMetrics(registry, () => processor.state);
    const severities = new SeverityTracker();
    for (const history of Object.values(processor.state.recent)) {
      severities.seed(history);
      const last = history[history.length - 1];
      if (last) recordWindow(metrics, last, false);
    }
    const outbox = new Outbox();
    const queue = new SerialQueue();

    const closedWindows = (closed: readonly WindowSummary[]): void => {
      for (const summary of closed) {
        recordWindow(metrics, summary);
        const change = severities.observe(summary);
        if (!change) continue;
        const fields = {
          event: change.rose ? 'drift_severity_rose' : 'drift_severity_fell', ...streamLabels(summary), window_index: summary.window_index,
          from: change.from, to: change.to, count: summary.count, metrics: summary.metrics.map((m) => ({ name: m.name, psi: m.psi, severity: m.severity })),
        };
        const text = `drift severity of ${streamTitle(summary)} ${change.rose ? 'rose' : 'fell'} from ${change.from} to ${change.to} in window ${summary.window_index}`;
        if (change.rose) log.warn(fields, text);
        else log.info(fields, text);
      }
      outbox.add(closed, []);
    };

    const counted = (result: ChunkResult): void => {
      for (const p of result.predictions) metrics.predictions.inc({ ...streamLabels(p.stream), outcome: p.duplicate ? 'duplicate' : 'counted' });
      for (const outcome of result.feedback) metrics.feedback.inc({ outcome });
      outbox.add([], result.failed);
      closedWindows(result.closed);
    };

    const outputRecords = async (reports: readonly WindowSummary[], deadLetters: readonly FailedRecord[]) => [
      ...await reportRecords(serde, topics.drift, reports),
      ...await deadLetterRecords(deadLetters, { serde, topic: topics.dlq, service: 'drift-monitor', limits: deadLetterLimits }),
    ];
    const published = (reports: readonly WindowSummary[], deadLetters: readonly FailedRecord[]): void => {
      metrics.reports.inc(reports.length);
      for (const f of deadLetters) metrics.deadLetters.inc({ topic: f.topic, stage: f.error.stage, error_class: f.error.errorClass });
    };
    const publishPlain = async (reports: readonly WindowSummary[], deadLetters: readonly FailedRecord[]): Promise<void> => {
      await plain.publish(await outputRecords(reports, deadLetters));
      published(reports, deadLetters);
    };

    let lastSnapshotAt = Date.now();
    /** Writes outputs and, when due, the snapshot; exactly-once writes both in one transaction whenever there are outputs. */
    const persist = async (final: boolean): Promise<void> => {
      const snapshotDue = processor.dirty && (final || Date.now() - lastSnapshotAt >= s.snapshotIntervalMs);
      if (transactional && (snapshotDue || !outbox.empty)) {
        await outbox.flush(async (reports, deadLetters) => {
          const timer = metrics.snapshotSeconds.startTimer();
          const snapshot = await store.prepare(processor.snapshot(s.monitorId, Date.now()));
          await transactional.commit([...await outputRecords(reports, deadLetters), ...snapshot.records], processor.positions);
          timer();
          store.committed(snapshot.slot);
          snapshotWritten(snapshot.written.bytes);
          published(reports, deadLetters);
        }, true);
        return;
      }
      await outbox.flush(publishPlain);
      if (!transactional && snapshotDue) {
        const timer = metrics.snapshotSeconds.startTimer();
        const written = await store.write(processor.snapshot(s.monitorId, Date.now()));
        timer();
        await plain.commitPositions(processor.positions);
        snapshotWritten(written.bytes);
      }
    };
    const snapshotWritten = (bytes: number): void => {
      processor.dirty = false;
      lastSnapshotAt = Date.now();
      metrics.snapshotBytes.set(bytes);
      log.debug({ bytes, positions: processor.positions }, 'snapshot written');
    };
    const persistFailed = (err: unknown): void => {
      metrics.snapshotFailures.inc();
      if (err instanceof FencedError) fatal(err.message, err);
      else log.error({ err }, 'publishing reports or writing the snapshot failed; retrying at the next tick');
    };

    // Positions come from the snapshot alone, never from committed offsets: a fresh group per start, from the
    // earliest offset where the snapshot has none, and a seek to the snapshot's offsets everywhere else.
    const process: ChunkProcessor = async (records, chunk) => {
      const unseen = processor.unseen(chunk.topic, chunk.partition, records);
      if (unseen.length < records.length) metrics.reread.inc({ topic: chunk.topic }, records.length - unseen.length);
      if (unseen.length > 0) {
        // Decoding changes no state, so it runs outside the queue; a registry failure pauses and retries the chunk.
        const { decoded, failed } = await decodeChunk(serde, chunk.topic, chunk.partition, unseen, chunk.topic === topics.predictions ? 'Prediction' : 'Feedback');
        // Outputs wait for the next tick (at most TICK_MS): exactly-once publishes them with the snapshot.
        await queue.run(() => counted(processor.applyChunk(chunk.topic, chunk.partition, decoded, failed)));
      }
      for (const record of records) chunk.progress(record);
      return EMPTY_CHUNK;
    };

    const ends = (await Promise.all([topics.predictions, topics.feedback].map((topic) => fetchEnds(clients.admin, topic)))).flat();
    const loop = await startStreamLoop({
      service: 'drift-monitor', kafka: clients.kafka, admin: clients.admin, producer, serde, dlqTopic: topics.dlq,
      groupId: groupIdFor(prefix, `${s.monitorId}-${randomUUID()}`), lagGroupId: stateId,
      topics: [topics.predictions, topics.feedback], consumerConfig: { maxWaitTimeInMs: 250, metadataMaxAge: PARTITION_DISCOVERY_MS },
      process, delivery: 'none', stage: 'decode', maxBatchSize: s.maxBatchSize, settings: s.stream, budgetBytes,
      logger: log, registry, fatal,
    });
    const progress = new ReadProgress(loop.consumer);
    // At the counted positions now (the first join happened inside startStreamLoop) and after every later join,
    // which would otherwise start this commit-less group at the earliest offsets again. A batch fetched before a
    // seek is dropped by kafkajs, and anything below a position by processor.unseen().
    resumeOnJoin(loop.consumer, (topic, partition) => processor.position(topic, partition), log)(loop.tracker.current);

    let caughtUp = false;
    let ticking = false;
    const tick = async (): Promise<void> => {
      if (ticking) return; // A slow snapshot must not pile up ticks behind it.
      ticking = true;
      await queue.run(async () => {
        caughtUp ||= processor.hasReached(ends, (topic, partition) => progress.nextOffset(topic, partition));
        // Event time while replaying a backlog (each replayed window closes as it did live), wall-clock time after.
        const now = caughtUp ? Date.now() : processor.state.join.watermark;
        const streams = Object.values(processor.state.windows.streams).map((stream) => stream.id);
        if (now !== null) closedWindows(processor.closeDue(now));
        const retired = streams.filter((id) => !(streamKey(id) in processor.state.windows.streams));
        if (retired.length > 0) {
          severities.forget(retired);
          await forgetStreams(metrics, retired);
          log.info({ experiments: [...new Set(retired.map((id) => id.experiment_id))], streams: retired.length, retentionMs: s.drift.streamRetentionMs },
            'streams of experiments idle past the retention forgotten');
        }
        await persist(false);
      }).catch(persistFailed)
        .finally(() => { ticking = false; });
    };
    const ticker = setInterval(() => void tick(), TICK_MS);
    log.info({ delivery: s.stream.delivery, stateId }, 'monitoring');

    return {
      ready: loop.ready,
      routes: await dashboardRoutes(() => buildDashboardState(processor.state, ctx, Date.now())),
      stopSteps: [
        { name: 'consumer', stop: () => loop.stop() },
        { name: 'ticker', stop: async () => clearInterval(ticker) },
        { name: 'final-snapshot', stop: () => queue.run(() => persist(true)) },
        { name: 'state-writer', stop: async () => transactional?.close() },
        { name: 'kafka-clients', stop: () => clients.close() },
      ],
    };
  },
});
