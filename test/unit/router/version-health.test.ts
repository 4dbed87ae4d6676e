import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EnvReader } from '../../../platform/config.ts';
import { consumersOf, groupIdFor, observeHealth, readVersionHealthSettings, topicLag, UP, type HealthObservation, type HealthPolicy, type VersionHealth } from '../../../router/version-health.ts';

const policy: HealthPolicy = { noMembersMs: 3_000, lagThreshold: 100, lagGrowthMs: 10_000, recoverMs: 2_000 };

/** Feeds observations in order; returns the health after each and the switches seen. */
function run(observations: HealthObservation[], start: VersionHealth = UP) {
  let health = start;
  const switches: Array<[number, 'down' | 'up']> = [];
  const states = observations.map((o) => {
    const change = observeHealth(health, o, policy);
    health = change.health;
    if (change.switched) switches.push([o.at, change.switched]);
    return health;
  });
  return { states, switches, last: health };
}

const at = (t: number, members: number, lag = 0): HealthObservation => ({ at: t, members, lag });

describe('observeHealth', () => {
  it('goes down once the group has had no members for noMembersMs, and says why', () => {
    const { switches, last, states } = run([at(0, 2), at(1_000, 0), at(3_000, 0), at(4_000, 0), at(5_000, 0)]);
    expect(states[2]?.down).toBe(false);
    expect(switches).toEqual([[4_000, 'down']]);
    expect(last.reason).toBe('no consumer in its group for 3.0 s');
  });

  it('does not go down for a member gap shorter than noMembersMs (a consumer restarting)', () => {
    expect(run([at(0, 0), at(2_000, 0), at(2_500, 1), at(4_000, 0), at(6_000, 0)]).switches).toEqual([]);
  });

  it('goes down when the lag stays above the threshold for lagGrowthMs and grew meanwhile', () => {
    const growing = run([at(0, 1, 50), at(1_000, 1, 150), at(6_000, 1, 400), at(11_000, 1, 900)]);
    expect(growing.switches).toEqual([[11_000, 'down']]);
    expect(growing.last.reason).toBe('lag 900 above 100 for 10.0 s and growing (from 150)');
  });

  it('stays up while a lag above the threshold shrinks, or dips under it', () => {
    expect(run([at(0, 1, 900), at(5_000, 1, 600), at(10_000, 1, 300), at(12_000, 1, 200)]).switches).toEqual([]);
    expect(run([at(0, 1, 150), at(5_000, 1, 90), at(10_000, 1, 900), at(15_000, 1, 950)]).switches).toEqual([]);
  });

  it('comes back up once it has members and lag within the threshold for recoverMs', () => {
    const down = run([at(0, 0), at(3_000, 0)]).last;
    expect(down.down).toBe(true);
    const back = run([at(4_000, 1, 500), at(5_000, 1, 80), at(6_000, 1, 50), at(7_000, 0, 0), at(8_000, 1, 0), at(10_000, 1, 0)], down);
    expect(back.switches).toEqual([[10_000, 'up']]);
    expect(back.last).toEqual({ ...UP, noMembersSince: null, lagAbove: null });
    expect(back.states[2]?.reason).toBe('no consumer in its group for 3.0 s');
  });
});

describe('version health settings', () => {
  it('reads defaults, and names a template without {version}', () => {
    const defaults = readVersionHealthSettings(new EnvReader({}));
    expect(defaults).toMatchObject({ pollMs: 1_000, noMembersMs: 3_000, lagThreshold: 1_000, groupIdTemplate: '{prefix}.inference-{version}' });
    expect(groupIdFor(defaults.groupIdTemplate, 'images', 'v2')).toBe('images.inference-v2');
    const env = new EnvReader({ ROUTER_HEALTH_GROUP_ID_TEMPLATE: 'inference', ROUTER_HEALTH_POLL_MS: '5' });
    readVersionHealthSettings(env);
    expect(() => env.done()).toThrow(/ROUTER_HEALTH_GROUP_ID_TEMPLATE="inference": expected a group id containing \{version\}[\s\S]*ROUTER_HEALTH_POLL_MS="5": expected an integer from 100/);
  });
});

describe('topicLag', () => {
  it('counts each partition from the committed offset, or from the log start where nothing is committed', () => {
    const ends = [{ partition: 0, high: '100', low: '0' }, { partition: 1, high: '50', low: '20' }, { partition: 2, high: '7', low: '0' }];
    expect(topicLag(ends, [{ partition: 0, offset: '90' }, { partition: 1, offset: '-1' }, { partition: 2, offset: '9' }])).toBe(10 + 30 + 0);
  });
});

describe('consumersOf', () => {
  const member = (topics: string[]) => ({ memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) });

  it('counts a consumer process once although it has a group member per priority lane', () => {
    const lanes = [member(['images.requests.v1']), member(['images.requests.v1.high'])];
    expect(consumersOf([...lanes, ...lanes], 'images.requests.v1')).toBe(2);
  });

  it('counts a member that subscribes to both lanes (one consumer for both), and one whose subscription it cannot read', () => {
    expect(consumersOf([member(['images.requests.v1', 'images.requests.v1.high']), { memberMetadata: Buffer.from([1]) }], 'images.requests.v1')).toBe(2);
  });
});
