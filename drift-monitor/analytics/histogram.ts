/**
 * Binning with the manifest's semantics (models/manifest.ts, HistogramReference): value v falls in bin i when
 * edges[i] <= v < edges[i+1]; values outside the edges clamp to the end bins (so the top edge itself is in the
 * last bin).
 */

/** Bin counts together with the edges they were counted against. */
export interface BinnedCounts {
  edges: number[];
  counts: number[];
}

export function validateEdges(edges: readonly number[]): void {
  if (edges.length < 2) throw new RangeError(`histogram edges need at least 2 values, got ${edges.length}`);
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i]!;
    if (!Number.isFinite(e)) throw new RangeError(`histogram edge ${i} is ${e}, expected a finite number`);
    if (i > 0 && !(e > edges[i - 1]!)) {
      throw new RangeError(`histogram edges must be strictly increasing, edge ${i} (${e}) <= edge ${i - 1}`);
    }
  }
}

/** The bin of `value` (binary search, O(log bins)). NaN has no bin: that is an error in the caller. */
export function binIndex(value: number, edges: readonly number[]): number {
  if (Number.isNaN(value)) throw new RangeError('cannot bin NaN');
  const last = edges.length - 2;
  if (value < edges[1]!) return 0;
  if (value >= edges[last]!) return last;
  // Invariant: edges[lo] <= value < edges[hi].
  let lo = 1;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (value >= edges[mid]!) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function emptyBins(edges: readonly number[]): BinnedCounts {
  validateEdges(edges);
  return { edges: [...edges], counts: new Array<number>(edges.length - 1).fill(0) };
}

export function addToBins(bins: BinnedCounts, value: number): void {
  bins.counts[binIndex(value, bins.edges)]! += 1;
}

export function histogramCounts(values: Iterable<number>, edges: readonly number[]): BinnedCounts {
  const bins = emptyBins(edges);
  for (const v of values) addToBins(bins, v);
  return bins;
}

/** Adds one to class `index`, growing the array with zeros when the index is new. */
export function addClassCount(counts: number[], index: number): void {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`class index must be a non-negative integer, got ${index}`);
  while (counts.length <= index) counts.push(0);
  counts[index]! += 1;
}

/** Counts per class index; the result has at least `numClasses` entries, more if a larger index occurs. */
export function classCounts(indices: Iterable<number>, numClasses = 0): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const i of indices) addClassCount(counts, i);
  return counts;
}

/** A copy of `values` extended with zeros to `length` (class distributions of different widths compare that way). */
export function padWithZeros(values: readonly number[], length: number): number[] {
  const out = [...values];
  while (out.length < length) out.push(0);
  return out;
}

export function sameEdges(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

/** `bins` equal-width bins from `low` to `high`, edges rounded to 12 decimals (0.30000000000000004 → 0.3). */
export function linearEdges(low: number, high: number, bins: number): number[] {
  if (!(Number.isInteger(bins) && bins > 0 && high > low)) {
    throw new RangeError(`linear edges need bins > 0 and high > low, got ${bins} bins over [${low}, ${high}]`);
  }
  return Array.from({ length: bins + 1 }, (_, i) => Number((low + ((high - low) * i) / bins).toFixed(12)));
}
