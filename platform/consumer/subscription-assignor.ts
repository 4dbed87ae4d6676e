/**
 * A partition assignor that gives each topic's partitions only to the members subscribed to it. kafkajs' own
 * round-robin hands every member partitions of every topic the group leader subscribes to; with priority lanes one
 * process runs a consumer per lane in the version's group (the normal topic and its `.high` lane), so the lanes'
 * consumers subscribe to different topics and must each get only their own. One group keeps one lag for KEDA and
 * the router's version health, summed over both lanes.
 */
import { AssignerProtocol, type GroupMember, type GroupMemberAssignment, type PartitionAssigner } from 'kafkajs';
import { HIGH_LANE_SUFFIX } from '../topics.ts';

export const SUBSCRIPTION_ASSIGNOR = 'SubscriptionRoundRobin';

/**
 * Pure: per member, partitions per topic. Each topic goes round-robin over its subscribers (sorted by member id),
 * and the turn carries over from one topic to the next among the same subscribers, so several small topics spread
 * out instead of all starting at the first member.
 */
export function assignBySubscription(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionsOf: (topic: string) => readonly number[],
): Map<string, Record<string, number[]>> {
  const assignment = new Map<string, Record<string, number[]>>([...subscriptions.keys()].map((m) => [m, {}]));
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  const turns = new Map<string, number>();
  for (const topic of topics) {
    const members = [...subscriptions].filter(([, subscribed]) => subscribed.includes(topic)).map(([m]) => m).sort();
    const group = members.join('\u0000');
    let turn = turns.get(group) ?? 0;
    for (const partition of [...partitionsOf(topic)].sort((a, b) => a - b)) {
      const owner = assignment.get(members[turn % members.length] as string) as Record<string, number[]>;
      (owner[topic] ??= []).push(partition);
      turn += 1;
    }
    turns.set(group, turn);
  }
  return assignment;
}

/**
 * Pure: whether the members' subscriptions are more than one version's lanes (a topic and its `.high` lane): two
 * deployments or versions forced onto one group id.
 */
export function sharedByOthers(subscriptions: ReadonlyMap<string, readonly string[]>): boolean {
  const bases = new Set([...subscriptions.values()].flat().map((t) => (t.endsWith(HIGH_LANE_SUFFIX) ? t.slice(0, -HIGH_LANE_SUFFIX.length) : t)));
  return bases.size > 1;
}

export const subscriptionAssignor: PartitionAssigner = ({ cluster }) => ({
  name: SUBSCRIPTION_ASSIGNOR,
  version: 0,
  async assign({ members }: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]> {
    const subscribed = new Map(members.map((m) => [m.memberId, AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? []]));
    const topics = [...new Set([...subscribed.values()].flat())];
    // Others in the group: everyone is given every topic, as kafkajs' round-robin would, so that each member finds
    // topics it does not read and stops with an error naming the shared group id (group-tracker.ts) instead of
    // the deployments quietly sharing one lag, one KEDA trigger and one version health.
    const subscriptions = sharedByOthers(subscribed) ? new Map([...subscribed.keys()].map((m) => [m, topics])) : subscribed;
    // The leader knows the metadata of its own topics only: another lane's topics are added to it.
    await cluster.addMultipleTargetTopics(topics);
    const assignment = assignBySubscription(subscriptions, (topic) => cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId));
    return [...assignment].map(([memberId, partitions]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: partitions, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }: { topics: string[] }) {
    return { name: SUBSCRIPTION_ASSIGNOR, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
