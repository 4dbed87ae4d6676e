import { AssignerProtocol, type Cluster } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { assignBySubscription, sharedByOthers, subscriptionAssignor, SUBSCRIPTION_ASSIGNOR } from '../../../../platform/consumer/subscription-assignor.ts';

const NORMAL = 'images.requests.v1';
const HIGH = 'images.requests.v1.high';
const partitions = (n: number) => (): number[] => Array.from({ length: n }, (_, i) => i);

describe('assignBySubscription', () => {
  it('gives each lane\'s partitions only to the consumers subscribed to it', () => {
    const a = assignBySubscription(new Map([
      ['a-normal', [NORMAL]], ['a-high', [HIGH]], ['b-normal', [NORMAL]], ['b-high', [HIGH]],
    ]), partitions(6));
    expect(a.get('a-normal')).toEqual({ [NORMAL]: [0, 2, 4] });
    expect(a.get('b-normal')).toEqual({ [NORMAL]: [1, 3, 5] });
    expect(a.get('a-high')).toEqual({ [HIGH]: [0, 2, 4] });
    expect(a.get('b-high')).toEqual({ [HIGH]: [1, 3, 5] });
  });

  it('assigns every partition exactly once, and carries the turn over between topics of the same subscribers', () => {
    const a = assignBySubscription(new Map([['m1', ['x', 'y']], ['m2', ['x', 'y']], ['m3', ['y']]]), (t) => (t === 'x' ? [0] : [0, 1, 2, 3]));
    expect(a.get('m1')).toEqual({ x: [0], y: [0, 3] });
    expect(a.get('m2')).toEqual({ y: [1] });
    expect(a.get('m3')).toEqual({ y: [2] });
    const all = [...a.values()].flatMap((m) => Object.entries(m).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`)));
    expect(all.sort()).toEqual(['x/0', 'y/0', 'y/1', 'y/2', 'y/3']);
  });

  it('leaves a member with no subscribed partitions empty-handed rather than giving it another lane', () => {
    const a = assignBySubscription(new Map([['n1', [NORMAL]], ['n2', [NORMAL]], ['h1', [HIGH]]]), partitions(1));
    expect(a.get('n2')).toEqual({});
    expect(a.get('h1')).toEqual({ [HIGH]: [0] });
  });
});

describe('subscriptionAssignor (kafkajs PartitionAssigner)', () => {
  it('decodes each member\'s subscription, loads metadata for topics the leader does not read, and encodes the assignment', async () => {
    const targets: string[][] = [];
    const cluster = {
      addMultipleTargetTopics: async (topics: string[]) => { targets.push(topics); },
      findTopicPartitionMetadata: (topic: string) => (topic === NORMAL ? [0, 1] : [0]).map((partitionId) => ({ partitionId })),
    } as unknown as Cluster;
    const assignor = subscriptionAssignor({ cluster, groupId: 'g', logger: undefined as never });
    const member = (memberId: string, topics: string[]) => ({ memberId, memberMetadata: assignor.protocol({ topics }).metadata });
    expect(assignor.name).toBe(SUBSCRIPTION_ASSIGNOR);
    const result = await assignor.assign({ members: [member('n', [NORMAL]), member('h', [HIGH])], topics: [HIGH] });
    expect(targets).toEqual([[NORMAL, HIGH]]);
    const decoded = Object.fromEntries(result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment]));
    expect(decoded).toEqual({ n: { [NORMAL]: [0, 1] }, h: { [HIGH]: [0] } });
  });
});

describe('sharedByOthers', () => {
  it('tells one version\'s two lanes from two deployments (or versions) forced onto one group id', () => {
    expect(sharedByOthers(new Map([['n', [NORMAL]], ['h', [HIGH]]]))).toBe(false);
    expect(sharedByOthers(new Map([['a', [NORMAL]], ['b', ['other.requests.v1']]]))).toBe(true);
    expect(sharedByOthers(new Map([['a', [HIGH]], ['b', ['images.requests.v2.high']]]))).toBe(true);
  });

  it('makes the assignor give every member every topic then, so each finds foreign topics and stops', async () => {
    const cluster = {
      addMultipleTargetTopics: async () => undefined,
      findTopicPartitionMetadata: () => [{ partitionId: 0 }, { partitionId: 1 }],
    } as unknown as Cluster;
    const assignor = subscriptionAssignor({ cluster, groupId: 'g', logger: undefined as never });
    const member = (memberId: string, topics: string[]) => ({ memberId, memberMetadata: assignor.protocol({ topics }).metadata });
    const result = await assignor.assign({ members: [member('a', [NORMAL]), member('b', ['other.requests.v1'])], topics: [NORMAL] });
    const decoded = Object.fromEntries(result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment]));
    expect(decoded.a).toEqual({ [NORMAL]: [0], 'other.requests.v1': [0] });
    expect(decoded.b).toEqual({ [NORMAL]: [1], 'other.requests.v1': [1] });
  });
});
