import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUCKET_COUNT, bucketOf, layoutSplit, versionForBucket } from '../../../router/experiment/hash-bucket.ts';

/** The specification, written the slow obvious way: first 8 bytes of SHA-256 as a big-endian u64, mod 10000. */
function referenceBucket(input: string): number {
  const digest = createHash('sha256').update(input, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(BUCKET_COUNT));
}

describe('bucketOf', () => {
  it('matches values computed independently (Python hashlib), so other tools can reproduce buckets', () => {
    // python3 -c "import hashlib; print(int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], 'big') % 10000)"
    expect(bucketOf('exp', 'rule', 'user-1')).toBe(583);
    expect(bucketOf('fashion-mnist-ab', 'ab', 'alice')).toBe(4370);
    expect(bucketOf('e', 'r', '')).toBe(3997);
    expect(bucketOf('e', 'r', 'ünïcode-ключ')).toBe(5771);
  });

  it('reduces the 64-bit value exactly as BigInt arithmetic does', () => {
    const mismatches = Array.from({ length: 20_000 }, (_, i) => `key-${i}`).filter(
      (key) => bucketOf('exp', 'rule', key) !== referenceBucket(`exp:rule:${key}`),
    );
    expect(mismatches).toEqual([]);
  });

  it('depends on the experiment and rule ids, so rules bucket independently', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
    const sameAcrossRules = keys.filter((key) => bucketOf('exp', 'a', key) === bucketOf('exp', 'b', key)).length;
    const sameAcrossExperiments = keys.filter((key) => bucketOf('x', 'a', key) === bucketOf('y', 'a', key)).length;
    expect(sameAcrossRules).toBeLessThan(5);
    expect(sameAcrossExperiments).toBeLessThan(5);
  });

  it('spreads 100,000 keys uniformly over 100 bins of buckets (chi-square, p = 0.001)', { timeout: 60_000 }, () => {
    const bins = new Array<number>(100).fill(0);
    const n = 100_000;
    const outOfRange: number[] = [];
    for (let i = 0; i < n; i++) {
      const bucket = bucketOf('exp', 'rule', `user-${i}`);
      if (!(Number.isInteger(bucket) && bucket >= 0 && bucket < BUCKET_COUNT)) outOfRange.push(bucket);
      bins[Math.floor(bucket / 100)]! += 1;
    }
    expect(outOfRange).toEqual([]);
    const expected = n / bins.length;
    const chiSquare = bins.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    // 0.999 quantile of chi-square with 99 degrees of freedom.
    expect(chiSquare).toBeLessThan(148.23);
  });
});

describe('layoutSplit and versionForBucket', () => {
  it('lays versions out in listed order with whole-bucket bounds', () => {
    expect(layoutSplit([{ version: 'a', weight: 50 }, { version: 'b', weight: 50 }]).upperBounds).toEqual([5000, 10000]);
    expect(layoutSplit([{ version: 'a', weight: 9 }, { version: 'b', weight: 1 }]).upperBounds).toEqual([9000, 10000]);
    expect(layoutSplit([{ version: 'a', weight: 1 }, { version: 'b', weight: 1 }, { version: 'c', weight: 1 }]).upperBounds).toEqual([
      3333, 6667, 10000,
    ]);
    expect(layoutSplit([{ version: 'only', weight: 0.3 }]).upperBounds).toEqual([10000]);
  });

  it('always ends at BUCKET_COUNT despite floating-point sums', () => {
    const split = Array.from({ length: 10 }, (_, i) => ({ version: `v${i}`, weight: 0.1 }));
    expect(layoutSplit(split).upperBounds.at(-1)).toBe(BUCKET_COUNT);
  });

  it('gives each bucket to the version whose range contains it', () => {
    const layout = layoutSplit([{ version: 'a', weight: 1 }, { version: 'b', weight: 2 }, { version: 'c', weight: 1 }]);
    expect([0, 2499, 2500, 7499, 7500, 9999].map((bucket) => versionForBucket(layout, bucket))).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });
});
