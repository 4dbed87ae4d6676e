/**
 * Stable bucketing for weighted splits.
 *
 * bucket = (first 8 bytes of SHA-256(UTF-8 of `${experimentId}:${ruleId}:${key}`), read as an unsigned
 * big-endian 64-bit integer) mod 10000.
 *
 * Why SHA-256: every language and database ships it with no variant to get wrong (murmur3 comes in seeds,
 * 32/128-bit flavours and string encodings), so an analyst can recompute a user's bucket from a notebook;
 * its output is uniform, so buckets are too (the mod-10000 bias of a 64-bit value is below 1e-15). It costs
 * a few microseconds of CPU per call through node:crypto (about 10x a hand-written FNV-1a), which is small
 * next to decoding, encoding and producing the record it routes.
 * The experiment and rule ids are part of the input so one user's buckets are independent across rules and
 * experiments; renaming either reshuffles every key.
 */
import * as crypto from 'node:crypto';
import type { WeightedVersion } from './types.ts';

/** Buckets per split; a version's share is resolved to 1/BUCKET_COUNT (0.01 %). */
export const BUCKET_COUNT = 10_000;

/** 2^32 mod BUCKET_COUNT, to reduce the 64-bit value without BigInt. */
const TWO_POW_32_MOD = 2 ** 32 % BUCKET_COUNT;

// crypto.hash (Node >= 20.12) skips the Hash object and is about twice as fast for short inputs; same digest.
const sha256: (input: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (input) => crypto.hash('sha256', input, 'buffer')
    : (input) => crypto.createHash('sha256').update(input, 'utf8').digest();

export function bucketOf(experimentId: string, ruleId: string, key: string): number {
  const digest = sha256(`${experimentId}:${ruleId}:${key}`);
  const high = digest.readUInt32BE(0) % BUCKET_COUNT;
  const low = digest.readUInt32BE(4) % BUCKET_COUNT;
  return (high * TWO_POW_32_MOD + low) % BUCKET_COUNT;
}

/**
 * A split laid out on the bucket line in the order listed: version i owns buckets
 * [upperBounds[i-1], upperBounds[i]) (the first starts at 0, the last ends at BUCKET_COUNT). Listing order
 * is what keeps reassignment minimal: moving weight between neighbours only moves the buckets between them.
 */
export interface BucketLayout {
  versions: string[];
  upperBounds: number[];
}

/** Weights must be finite and > 0 (validation guarantees it); bounds are rounded to whole buckets. */
export function layoutSplit(split: readonly WeightedVersion[]): BucketLayout {
  const total = split.reduce((sum, entry) => sum + entry.weight, 0);
  let cumulative = 0;
  const upperBounds = split.map((entry, i) => {
    cumulative += entry.weight;
    // The last bound is exact so floating-point sums never leave the top buckets unassigned.
    return i === split.length - 1 ? BUCKET_COUNT : Math.round((cumulative / total) * BUCKET_COUNT);
  });
  return { versions: split.map((entry) => entry.version), upperBounds };
}

/** The version owning `bucket`; the layout must come from a non-empty split. */
export function versionForBucket(layout: BucketLayout, bucket: number): string {
  const { versions, upperBounds } = layout;
  for (let i = 0; i < upperBounds.length; i++) {
    if (bucket < upperBounds[i]!) return versions[i]!;
  }
  return versions[versions.length - 1]!;
}
