/**
 * Token buckets per client: each holds up to `burst` tokens and refills at `perSecond`. Pure given the clock.
 * The table keeps the most recently seen `maxClients` clients (a client idle long enough has a full bucket,
 * the same as none), so memory stays bounded even when anonymous clients come from many addresses.
 */
export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
    private readonly maxClients = 100_000,
  ) {}

  /** Takes `cost` tokens from `client`'s bucket, or says how long until they are there. */
  take(client: string, cost = 1): Admission {
    if (this.perSecond <= 0) return { ok: true };
    const now = this.clock();
    const bucket = this.refilled(this.buckets.get(client), now);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      this.store(client, bucket);
      return { ok: true };
    }
    this.store(client, bucket);
    const missing = Math.min(cost, this.burst) - bucket.tokens;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(missing / this.perSecond)) };
  }

  get clients(): number {
    return this.buckets.size;
  }

  private refilled(bucket: Bucket | undefined, now: number): Bucket {
    if (!bucket) return { tokens: this.burst, at: now };
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    return { tokens: Math.min(this.burst, bucket.tokens + elapsed * this.perSecond), at: now };
  }

  private store(client: string, bucket: Bucket): void {
    // Re-inserting keeps Map order least recently used first.
    this.buckets.delete(client);
    if (this.buckets.size >= this.maxClients) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    this.buckets.set(client, bucket);
  }
}
