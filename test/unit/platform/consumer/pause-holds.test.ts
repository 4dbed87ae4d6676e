import { describe, expect, it } from 'vitest';
import { PauseHolds } from '../../../../platform/consumer/pause-holds.ts';

function target() {
  const calls: string[] = [];
  return { calls, holds: new PauseHolds({ pause: (t, p) => calls.push(`pause ${t}/${p}`), resume: (t, p) => calls.push(`resume ${t}/${p}`) }) };
}

describe('PauseHolds', () => {
  it('pauses a partition once for all its reasons and resumes it only when the last one lets go', () => {
    const { calls, holds } = target();
    holds.hold('t', 0, 'systemic');
    holds.hold('t', 0, 'lane');
    holds.release('t', 0, 'lane');
    expect(calls).toEqual(['pause t/0']);
    expect(holds.has('t', 0, 'systemic')).toBe(true);
    holds.release('t', 0, 'systemic');
    expect(calls).toEqual(['pause t/0', 'resume t/0']);
  });

  it('resumes again when a retried release finds nothing held (the first resume threw)', () => {
    const calls: string[] = [];
    let fail = true;
    const holds = new PauseHolds({
      pause: () => calls.push('pause'),
      resume: () => {
        if (fail) throw new Error('consumer not running');
        calls.push('resume');
      },
    });
    holds.hold('t', 1, 'systemic');
    expect(() => holds.release('t', 1, 'systemic')).toThrow(/not running/);
    fail = false;
    holds.release('t', 1, 'systemic');
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('pauses anew after clear (kafkajs forgot its pauses when the consumer stopped)', () => {
    const { calls, holds } = target();
    holds.hold('t', 0, 'lane');
    holds.clear();
    holds.hold('t', 0, 'lane');
    expect(calls).toEqual(['pause t/0', 'pause t/0']);
  });
});
