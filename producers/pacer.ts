/**
 * Paces sends to a target rate: `next(n)` resolves when n more records may go, keeping the average at
 * `ratePerSecond` since start without bursts beyond one batch. A rate of 0 means as fast as possible.
 */
export class Pacer {
  private sent = 0;
  private readonly started: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly clock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.started = clock();
  }

  /** Milliseconds to wait before the next records keep the rate. Pure given the clock. */
  delayFor(): number {
    if (this.ratePerSecond <= 0) return 0;
    const due = this.started + (this.sent * 1000) / this.ratePerSecond;
    return Math.max(0, due - this.clock());
  }

  async next(n: number): Promise<void> {
    const wait = this.delayFor();
    if (wait > 0) await this.sleep(wait);
    this.sent += n;
  }
}
