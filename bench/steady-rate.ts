/**
 * Pure: images per second from completion times, leaving out the start (process warm-up, the first fetches,
 * the group join) and the end (a last partial batch waits on the poll timeout: one second in the Python
 * reference, 50 ms in ours).
 */
export function steadyRate(stampsMs: number[], batch: number): { ips: number; measured: number; from: number; to: number } {
  const times = [...stampsMs].sort((a, b) => a - b);
  const warmup = Math.max(64, 4 * batch);
  const tail = 2 * batch;
  const first = warmup - 1;
  const last = times.length - 1 - tail;
  if (last - first < batch) throw new Error(`${times.length} completions are too few to measure a steady rate at batch ${batch}`);
  const seconds = ((times[last] as number) - (times[first] as number)) / 1000;
  const measured = last - first;
  // Millisecond stamps: a run shorter than a tick cannot be measured.
  if (seconds <= 0) throw new Error(`${measured} completions within one millisecond: give the run more images`);
  return { ips: measured / seconds, measured, from: times[first] as number, to: times[last] as number };
}
