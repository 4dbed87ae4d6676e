import { describe, expect, it } from 'vitest';
import { EventLoopTurns } from '../../../platform/event-loop-turns.ts';

describe('EventLoopTurns', () => {
  it('resolves turns asked for at once in successive event-loop iterations, in order', async () => {
    // An iteration counter: a setImmediate that queues itself runs once per iteration of the loop.
    let iteration = 0;
    let ticking = true;
    const tick = (): void => {
      iteration += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turns = new EventLoopTurns();
    const seen: { turn: number; iteration: number }[] = [];
    await Promise.all(Array.from({ length: 5 }, (_, turn) => turns.next().then(() => seen.push({ turn, iteration }))));
    ticking = false;
    expect(seen.map((s) => s.turn)).toEqual([0, 1, 2, 3, 4]);
    for (let i = 1; i < seen.length; i += 1) expect(seen[i]!.iteration).toBeGreaterThan(seen[i - 1]!.iteration);
  });

  it('lets I/O callbacks that became ready run between two turns', async () => {
    const turns = new EventLoopTurns();
    const order: string[] = [];
    const first = turns.next().then(() => {
      order.push('turn 1');
      // Ready during turn 1, as a fetch answer arriving while a record is decoded would be.
      setTimeout(() => order.push('timer'), 0);
      const until = Date.now() + 5;
      while (Date.now() < until);
    });
    const second = turns.next().then(() => order.push('turn 2'));
    await Promise.all([first, second]);
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(['turn 1', 'timer', 'turn 2']);
  });
});
