/**
 * Hands out turns one per event-loop iteration. A caller that awaits `next()` before each piece of synchronous work
 * (decoding one image, say) runs that piece in an iteration of its own, after the loop has polled for I/O: work
 * that would otherwise run back to back in one macrotask (every image of a chunk, queued at once) leaves the loop
 * free between pieces, so a socket that became readable meanwhile is served after one piece, not after all of them.
 */
export class EventLoopTurns {
  private tail: Promise<void> = Promise.resolve();

  /** Resolves in a later event-loop iteration than the turn handed out before it. */
  next(): Promise<void> {
    // Each turn's setImmediate is queued only once the previous turn has fired, so no two share an iteration.
    const turn = this.tail.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    this.tail = turn;
    return turn;
  }
}
