/**
 * The drift monitor: images.predictions + images.feedback → windows per model version and variant → DriftReports on
 * images.drift, Prometheus metrics, and the dashboard at / on the ops port. Its state and the offsets it reflects
 * are snapshotted together to the compacted state topic, so a restart (or a crash) resumes exactly where the
 * last snapshot left off. Run one instance per DRIFT_MONITOR_ID.
 */
import { randomUUID } from 'node:crypto';
import type { Batch } from 'kafkajs';
import { groupMembership, runBatchLoop } from '../platform/batch-consumer.ts';
import { connectClients } from '../platform/clients.ts';
import { DeadLetterPublisher } from '../platform/dead-letter.ts';
import { decodeChunk } from '../platform/decode-batch.ts';
import { runService } from '../platform/service.ts';
import { buildDashboardState, streamTitle } from './analytics/dashboard-state.ts';
import type { DriftContext } from './analytics/drift-state.ts';
import type { WindowSummary } from './analytics/window-summary.ts';
import { dashboardRoutes } from './service/dashboard-routes.ts';
import { DriftProcessor, type ChunkResult } from './service/drift-processor.ts';
import { createDriftMetrics, recordWindow, streamLabels } from './service/metrics.ts';
import { Outbox } from './service/outbox.ts';
import { defaultManifestPaths, loadReferences } from './service/references.ts';
import { ReportPublisher } from './service/report-publisher.ts';
import { SerialQueue } from './service/serial-queue.ts';
import { readDriftSettings } from './service/settings.ts';
import { SeverityTracker } from './service/severity-log.ts';
import { SnapshotStore } from './service/snapshot-store.ts';
import { fetchEnds } from './service/topic-offsets.ts';

/** How often time windows of quiet streams are closed, join entries expired and a due snapshot written. */
const TICK_MS = 1_000;

await runService({
  name: 'drift-monitor',
  readSettings: readDriftSettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry }) {
    const log = logger.child({ monitor: s.monitorId });
    const references = await loadReferences(s.manifestPaths ?? defaultManifestPaths());
    const ctx: DriftContext = { config: s.drift, referenceFor: references.lookup };
    log.info({ models: references.models, window: s.drift.window.policy, thresholds: s.drift.window.thresholds }, 'model references loaded; other versions warm up a baseline');

    const clients = await connectClients(s, log);
    const { topics, serde, producer } = clients;
    const store = new SnapshotStore({ kafka: clients.kafka, admin: clients.admin, producer, topic: topics.driftState, monitorId: s.monitorId, logger: log });
    const restored = await store.readLatest();
    const processor = new DriftProcessor(ctx, topics, restored?.snapshot);
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
    const outbox = new Outbox(new ReportPublisher(producer, serde, topics.drift), new DeadLetterPublisher(producer, serde, topics.dlq, 'drift-monitor'));
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
      for (const f of result.failed) metrics.deadLetters.inc({ topic: f.topic, stage: f.error.stage, error_class: f.error.errorClass });
      outbox.add([], result.failed);
      closedWindows(result.closed);
    };

    const handle = async (chunk: Batch['messages'], batch: Batch): Promise<void> => {
      const unseen = processor.unseen(batch.topic, batch.partition, chunk);
      if (unseen.length === 0) return;
      // Decoding changes no state, so it runs outside the queue; a transient registry failure retries the chunk.
      const { decoded, failed } = await decodeChunk(serde, batch.topic, batch.partition, unseen);
      await queue.run(async () => {
        counted(processor.applyChunk(batch.topic, batch.partition, decoded, failed));
        await outbox.flush();
      });
    };

    let lastSnapshotAt = Date.now();
    const writeSnapshot = async (): Promise<void> => {
      const timer = metrics.snapshotSeconds.startTimer();
      const written = await store.write(processor.snapshot(s.monitorId, Date.now()));
      timer();
      processor.dirty = false;
      lastSnapshotAt = Date.now();
      metrics.snapshotBytes.set(written.bytes);
      log.debug({ ...written, positions: processor.positions }, 'snapshot written');
    };

    // Positions come from the snapshot alone, never from committed offsets: a fresh group per start, from the
    // earliest offset where the snapshot has none, and a seek to the snapshot's offsets everywhere else.
    const ends = (await Promise.all([topics.predictions, topics.feedback].map((topic) => fetchEnds(clients.admin, topic)))).flat();
    let caughtUp = false;
    let ticking = false;
    const tick = async (): Promise<void> => {
      if (ticking) return; // A slow snapshot must not pile up ticks behind it.
      ticking = true;
      await queue.run(async () => {
        caughtUp ||= processor.hasReached(ends);
        // Event time while replaying a backlog (each replayed window closes as it did live), wall-clock time after.
        const now = caughtUp ? Date.now() : processor.state.join.watermark;
        if (now !== null) closedWindows(processor.closeDue(now));
        await outbox.flush();
        if (processor.dirty && Date.now() - lastSnapshotAt >= s.snapshotIntervalMs) {
          await writeSnapshot().catch((err: unknown) => {
            metrics.snapshotFailures.inc();
            throw err;
          });
        }
      }).catch((err: unknown) => log.error({ err }, 'publishing reports or writing the snapshot failed; retrying at the next tick'))
        .finally(() => { ticking = false; });
    };
    const ticker = setInterval(() => void tick(), TICK_MS);

    const consumer = clients.kafka.consumer({ groupId: `${s.monitorId}-${randomUUID()}`, maxWaitTimeInMs: 250 });
    const joined = groupMembership(consumer);
    await consumer.connect();
    await runBatchLoop({ consumer, topics: [topics.predictions, topics.feedback], logger: log, registry, maxBatchSize: s.maxBatchSize, handle });
    // Applied before the first fetch at these positions; a batch fetched before the seek is dropped by kafkajs,
    // and anything below a position by processor.unseen().
    for (const [topic, partitions] of Object.entries(processor.positions)) {
      for (const [partition, offset] of Object.entries(partitions)) consumer.seek({ topic, partition: Number(partition), offset });
    }

    return {
      ready: joined,
      routes: await dashboardRoutes(() => buildDashboardState(processor.state, ctx, Date.now())),
      stopSteps: [
        { name: 'consumer', stop: () => consumer.disconnect() },
        { name: 'ticker', stop: async () => clearInterval(ticker) },
        {
          name: 'final-snapshot',
          stop: () => queue.run(async () => {
            await outbox.flush();
            if (processor.dirty) await writeSnapshot();
          }),
        },
        { name: 'kafka-clients', stop: () => clients.close() },
      ],
    };
  },
});
