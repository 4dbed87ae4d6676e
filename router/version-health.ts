/**
 * Whether each model version can take traffic, for rules with a `fallback` (router/experiment/evaluate.ts).
 *
 * A version is down when its consumer group has had no members for `noMembersMs` (every consumer stopped, or
 * the group was never started), or when the group's lag has stayed above `lagThreshold` for `lagGrowthMs` and
 * is higher at the end of that time than at its start (consumers that are alive but stuck or far too slow).
 * It is up again once it has members and its lag is at most the threshold for `recoverMs`: while down it gets
 * no new traffic, so live consumers drain what it has.
 *
 * `observeHealth` is the pure decision; `VersionHealthMonitor` polls the admin API (describeGroups for members,
 * committed offsets against the topic's end offsets for lag), logs and counts each switch.
 */
import { AssignerProtocol, type Admin, type MemberDescription } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EnvReader } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import { lagOf } from '../platform/consumer/lag-monitor.ts';

export interface HealthPolicy {
  noMembersMs: number;
  lagThreshold: number;
  lagGrowthMs: number;
  recoverMs: number;
}

export interface VersionHealthSettings extends HealthPolicy {
  pollMs: number;
  /** Consumer group of a version: `{prefix}` and `{version}` are replaced. */
  groupIdTemplate: string;
}

export function readVersionHealthSettings(env: EnvReader): VersionHealthSettings {
  const groupIdTemplate = env.string('ROUTER_HEALTH_GROUP_ID_TEMPLATE', '{prefix}.inference-{version}');
  env.check(groupIdTemplate.includes('{version}'), 'ROUTER_HEALTH_GROUP_ID_TEMPLATE', groupIdTemplate, 'a group id containing {version} (and optionally {prefix})');
  return {
    pollMs: env.int('ROUTER_HEALTH_POLL_MS', 1_000, { min: 100, max: 600_000 }),
    noMembersMs: env.int('ROUTER_HEALTH_NO_MEMBERS_MS', 3_000, { min: 0, max: 3_600_000 }),
    lagThreshold: env.int('ROUTER_HEALTH_LAG_THRESHOLD', 1_000, { min: 0 }),
    lagGrowthMs: env.int('ROUTER_HEALTH_LAG_GROWTH_MS', 30_000, { min: 0, max: 3_600_000 }),
    recoverMs: env.int('ROUTER_HEALTH_RECOVER_MS', 3_000, { min: 0, max: 3_600_000 }),
    groupIdTemplate,
  };
}

export function groupIdFor(template: string, prefix: string, version: string): string {
  return template.replaceAll('{prefix}', prefix).replaceAll('{version}', version);
}

export interface HealthObservation {
  at: number;
  members: number;
  /** Records between the group's committed offsets and the end of the version's topic. */
  lag: number;
}

export interface VersionHealth {
  down: boolean;
  /** Why the version is down; null while up. */
  reason: string | null;
  noMembersSince: number | null;
  /** When the lag went above the threshold, and what it was then. */
  lagAbove: { since: number; lag: number } | null;
  /** While down: since when members and lag have looked healthy. */
  healthySince: number | null;
}

export const UP: VersionHealth = { down: false, reason: null, noMembersSince: null, lagAbove: null, healthySince: null };

export interface HealthChange {
  health: VersionHealth;
  /** The switch this observation caused, if any. */
  switched: 'down' | 'up' | null;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Pure: the health after one observation. */
export function observeHealth(previous: VersionHealth, o: HealthObservation, policy: HealthPolicy): HealthChange {
  const noMembersSince = o.members === 0 ? (previous.noMembersSince ?? o.at) : null;
  const lagAbove = o.lag > policy.lagThreshold ? (previous.lagAbove ?? { since: o.at, lag: o.lag }) : null;
  const base = { noMembersSince, lagAbove };
  if (!previous.down) {
    let reason: string | null = null;
    if (noMembersSince !== null && o.at - noMembersSince >= policy.noMembersMs) {
      reason = `no consumer in its group for ${seconds(o.at - noMembersSince)}`;
    } else if (lagAbove !== null && o.at - lagAbove.since >= policy.lagGrowthMs && o.lag > lagAbove.lag) {
      reason = `lag ${o.lag} above ${policy.lagThreshold} for ${seconds(o.at - lagAbove.since)} and growing (from ${lagAbove.lag})`;
    }
    if (reason === null) return { health: { ...UP, ...base }, switched: null };
    return { health: { ...base, down: true, reason, healthySince: null }, switched: 'down' };
  }
  const looksHealthy = o.members > 0 && o.lag <= policy.lagThreshold;
  const healthySince = looksHealthy ? (previous.healthySince ?? o.at) : null;
  if (healthySince !== null && o.at - healthySince >= policy.recoverMs) return { health: { ...UP, ...base }, switched: 'up' };
  return { health: { ...base, down: true, reason: previous.reason, healthySince }, switched: null };
}

/** Pure: records waiting on one topic; no committed offset yet (-1) counts everything from the log start. */
export function topicLag(ends: readonly { partition: number; high: string; low: string }[], committed: readonly { partition: number; offset: string }[]): number {
  const committedBy = new Map(committed.map((p) => [p.partition, p.offset]));
  return ends.reduce((sum, p) => sum + lagOf(p, committedBy.get(p.partition)), 0);
}

export interface MonitorOptions {
  admin: Admin;
  settings: VersionHealthSettings;
  topicPrefix: string;
  /** The version's topics: its lanes (platform/topics.ts), whose lag is summed. */
  topicsFor: (version: string) => string[];
  /** The versions to watch now (e.g. those of the active experiment when a rule names a fallback). */
  versions: () => string[];
  logger: Logger;
  registry: Registry;
}

/**
 * The group's consumers of the version's first (normal) topic: a consumer process has a member per priority lane
 * (platform/consumer/laned-stream-loops.ts), and a member whose subscription cannot be read counts as one.
 */
export function consumersOf(members: readonly Pick<MemberDescription, 'memberMetadata'>[], topic: string): number {
  return members.filter((m) => {
    try {
      return AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics.includes(topic) ?? true;
    } catch {
      return true;
    }
  }).length;
}

/** Polls the admin API for the versions being watched and keeps their health for `isDown`. */
export class VersionHealthMonitor {
  private readonly health = new Map<string, VersionHealth>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private pollFailing = false;
  private readonly metrics;

  constructor(private readonly o: MonitorOptions) {
    const registers = [o.registry];
    this.metrics = {
      up: new Gauge({ name: 'router_version_up', help: '1 while a watched version takes traffic, 0 while rules with a fallback route around it', labelNames: ['version'], registers }),
      consumers: new Gauge({ name: 'router_version_consumers', help: 'Members of a watched version\'s consumer group', labelNames: ['version'], registers }),
      lag: new Gauge({ name: 'router_version_lag_records', help: 'Committed-offset lag of a watched version\'s consumer group on its topic', labelNames: ['version'], registers }),
      switches: new Counter({ name: 'router_version_health_switches_total', help: 'Versions going down (traffic to fallbacks) or back up', labelNames: ['version', 'to'], registers }),
      pollFailures: new Counter({ name: 'router_version_health_poll_failures_total', help: 'Health polls that failed (health kept as it was)', registers }),
    };
  }

  isDown(version: string): boolean {
    return this.health.get(version)?.down ?? false;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll());
    }, this.o.settings.pollMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** One round of observations; a failed poll keeps every version's health as it was. */
  async poll(now = Date.now()): Promise<void> {
    const versions = this.o.versions();
    for (const version of [...this.health.keys()]) {
      if (versions.includes(version)) continue;
      this.health.delete(version);
      for (const gauge of [this.metrics.up, this.metrics.consumers, this.metrics.lag]) gauge.remove({ version });
    }
    if (versions.length === 0) return;
    try {
      const observations = await this.observe(versions, now);
      if (this.pollFailing) this.o.logger.info('version health polls succeed again');
      this.pollFailing = false;
      for (const [version, observation] of observations) this.apply(version, observation);
    } catch (err) {
      this.metrics.pollFailures.inc();
      if (!this.pollFailing) this.o.logger.warn({ err }, 'version health poll failed; keeping each version\'s health until a poll succeeds');
      this.pollFailing = true;
    }
  }

  private groupOf(version: string): string {
    return groupIdFor(this.o.settings.groupIdTemplate, this.o.topicPrefix, version);
  }

  private async observe(versions: string[], at: number): Promise<Map<string, HealthObservation>> {
    const { groups } = await this.o.admin.describeGroups(versions.map((v) => this.groupOf(v)));
    const members = new Map(groups.map((g) => [g.groupId, g.members]));
    const entries = await Promise.all(versions.map(async (version): Promise<[string, HealthObservation]> => {
      const topics = this.o.topicsFor(version);
      const [committed, ...ends] = await Promise.all([
        this.o.admin.fetchOffsets({ groupId: this.groupOf(version), topics }),
        ...topics.map((topic) => this.o.admin.fetchTopicOffsets(topic)),
      ]);
      // Every lane counts: a version whose high lane is stuck is down even while its normal lane moves.
      const lag = topics.reduce((sum, topic, i) => sum + topicLag(ends[i] ?? [], committed.find((c) => c.topic === topic)?.partitions ?? []), 0);
      return [version, { at, members: consumersOf(members.get(this.groupOf(version)) ?? [], topics[0] as string), lag }];
    }));
    return new Map(entries);
  }

  private apply(version: string, observation: HealthObservation): void {
    const { health, switched } = observeHealth(this.health.get(version) ?? UP, observation, this.o.settings);
    this.health.set(version, health);
    this.metrics.up.set({ version }, health.down ? 0 : 1);
    this.metrics.consumers.set({ version }, observation.members);
    this.metrics.lag.set({ version }, observation.lag);
    if (switched === null) return;
    this.metrics.switches.inc({ version, to: switched });
    const fields = { event: `version_${switched}`, version, group: this.groupOf(version), members: observation.members, lag: observation.lag };
    if (switched === 'down') {
      this.o.logger.warn({ ...fields, reason: health.reason }, `version ${version} is down (${health.reason}); rules with a fallback send its traffic to their fallback`);
    } else {
      this.o.logger.info(fields, `version ${version} is up again (${observation.members} consumers, lag ${observation.lag}); its traffic returns to it`);
    }
  }
}
