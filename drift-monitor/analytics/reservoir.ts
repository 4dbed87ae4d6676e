/**
 * A bounded uniform sample of a stream (Vitter's Algorithm R) as plain data. The random generator's state is
 * part of the data, so a reservoir restored from JSON continues exactly as the original would have.
 */

export interface Reservoir {
  capacity: number;
  /** Values offered so far. */
  seen: number;
  samples: number[];
  /** mulberry32 state (a 32-bit unsigned integer). */
  rng: number;
}

export function createReservoir(capacity: number, seed = 0x9e3779b9): Reservoir {
  if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`reservoir capacity must be a positive integer, got ${capacity}`);
  return { capacity, seen: 0, samples: [], rng: seed >>> 0 };
}

/** mulberry32: a tiny, well-mixed 32-bit generator; advances r.rng and returns a float in [0, 1). */
function nextRandom(r: Reservoir): number {
  r.rng = (r.rng + 0x6d2b79f5) >>> 0;
  let t = r.rng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function offer(r: Reservoir, value: number): void {
  r.seen += 1;
  if (r.samples.length < r.capacity) {
    r.samples.push(value);
    return;
  }
  // Keep the new value with probability capacity/seen, replacing a uniformly chosen slot.
  const slot = Math.floor(nextRandom(r) * r.seen);
  if (slot < r.capacity) r.samples[slot] = value;
}
