/**
 * Follows a consumer's group membership from kafkajs' events: the assignment and a generation counter (bumped on
 * every join, so per-partition state can tell a new ownership from an old one), and the two ways a member can
 * stop doing its job silently, which become fatal errors instead: being assigned topics it did not subscribe to
 * (two deployments sharing a group id) and a crash that kafkajs will not restart.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger.ts';

export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export class GroupTracker {
  generation = 0;
  private joined = false;
  /** Set by a fatal condition: the member never counts as joined again. */
  private failed = false;
  private assignment: Assignment = new Map();
  /** Per owned partition, the generation since which this member has held it without interruption. */
  private ownedFrom = new Map<string, number>();
  private memberId: string | undefined;
  /** No stop or crash since the last join: partitions in both assignments were held throughout. */
  private continuous = false;
  private readonly listeners: ((assignment: Assignment) => void)[] = [];
  private readonly leaveListeners: (() => void)[] = [];

  constructor(
    consumer: Consumer,
    private readonly groupId: string,
    private readonly logger: Logger,
    private readonly fatal: (message: string, err?: unknown) => void,
  ) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.onJoin(payload.memberAssignment, payload.memberId));
    // kafkajs drops such topics from the assignment and goes on with the rest: a member that then reports ready
    // while consuming nothing of its own.
    consumer.on(consumer.events.RECEIVED_UNSUBSCRIBED_TOPICS, ({ payload }) => {
      this.failed = true;
      this.joined = false;
      this.fatal(`consumer group "${groupId}" assigned this member topics it does not subscribe to (${payload.topicsNotSubscribed.join(', ')}): another deployment uses the same group id. Give each deployment its own TOPIC_PREFIX or group id.`);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.left();
      if (!payload.restart) {
        this.failed = true;
        this.fatal(`consumer of group ${groupId} stopped after an error kafkajs does not restart: ${payload.error.message}`, payload.error);
      }
    });
    consumer.on(consumer.events.STOP, () => this.left());
  }

  /** kafkajs stopped its consumer (stop, or a crash: it stops, then maybe restarts): out of the group. */
  private left(): void {
    this.joined = false;
    this.continuous = false;
    for (const listener of this.leaveListeners) listener();
  }

  private onJoin(memberAssignment: Record<string, number[]>, memberId: string): void {
    this.generation += 1;
    this.joined = !this.failed;
    this.assignment = new Map(Object.entries(memberAssignment).map(([topic, partitions]) => [topic, new Set(partitions)]));
    // A new member id means the coordinator dropped this member (a session timeout): the group went on without it.
    const kept = this.continuous && memberId === this.memberId;
    const ownedFrom = new Map<string, number>();
    for (const [topic, partitions] of this.assignment) {
      for (const partition of partitions) {
        const key = `${topic}\u0000${partition}`;
        ownedFrom.set(key, (kept ? this.ownedFrom.get(key) : undefined) ?? this.generation);
      }
    }
    this.ownedFrom = ownedFrom;
    this.memberId = memberId;
    this.continuous = true;
    this.logger.info({ group: this.groupId, generation: this.generation, assignment: memberAssignment }, 'joined consumer group');
    for (const listener of this.listeners) listener(this.assignment);
  }

  onAssignment(listener: (assignment: Assignment) => void): void {
    this.listeners.push(listener);
  }

  /** Called when the consumer stops or crashes; a restart joins again (onAssignment). */
  onLeave(listener: () => void): void {
    this.leaveListeners.push(listener);
  }

  get isMember(): boolean {
    return this.joined;
  }

  get current(): Assignment {
    return this.assignment;
  }

  /**
   * The generation since which this member has owned the partition without interruption (undefined: not owned):
   * the same across rejoins that keep the partition, a new one where it was assigned anew or after the member
   * left the group, when someone else may have processed it meanwhile.
   */
  ownedSince(topic: string, partition: number): number | undefined {
    return this.ownedFrom.get(`${topic}\u0000${partition}`);
  }

  owns(topic: string, partition: number): boolean {
    return this.assignment.get(topic)?.has(partition) ?? false;
  }
}
