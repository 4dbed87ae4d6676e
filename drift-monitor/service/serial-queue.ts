/**
 * Runs tasks one at a time in submission order. The consumer's chunks, the window timer and snapshots all
 * change or read the analytics state across awaits; in one queue a snapshot never sees a chunk half-published.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    // A failed task rejects its own caller only; the next task still runs.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
