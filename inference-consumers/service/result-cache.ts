/**
 * Answers for image bytes seen before (issue 17): upstream retries, re-scoring jobs, popular images. The key is
 * a content hash of the fetched bytes with the model's version and file sha256, so another version or a
 * reloaded file never meets an older answer (a reload also clears the cache: a manifest edited beside an
 * unchanged file could change labels or preprocessing). The URI is no content key: the object behind it may
 * change, so the bytes are still fetched and hashed; a hit skips the decode and the model call.
 * Least-recently-used, bounded in entries and in (estimated) bytes. One per consumer process: several consumers
 * of one version each keep their own.
 */
import { createHash } from 'node:crypto';
import type { EnvReader } from '../../platform/config.ts';
import type { InputStats } from '../../models/runtime/preprocess/preprocess-image.ts';
import type { ScoredLabel } from '../../models/runtime/scores.ts';

export interface CachedResult {
  /** Best first, as the model call gave it. */
  top: ScoredLabel[];
  stats: InputStats;
}

export interface ResultCacheSettings {
  /** RESULT_CACHE: off (the default) or on. */
  enabled: boolean;
  maxEntries: number;
  maxBytes: number;
}

export function readResultCacheSettings(env: EnvReader): ResultCacheSettings {
  return {
    enabled: env.oneOf('RESULT_CACHE', ['off', 'on'] as const, 'off') === 'on',
    maxEntries: env.int('RESULT_CACHE_MAX_ENTRIES', 100_000, { min: 1, max: 100_000_000 }),
    maxBytes: env.int('RESULT_CACHE_MAX_BYTES', 64 * 1024 * 1024, { min: 1_024 }),
  };
}

/** Pure: the cache key of `bytes` for one model file and version. */
export function resultKey(modelSha256: string, version: string, bytes: Uint8Array): string {
  return `${modelSha256}:${version}:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Pure: an estimate of what an entry holds on the heap (strings at 2 bytes a character, numbers and object headers). */
export function entryBytes(key: string, r: CachedResult): number {
  const labels = r.top.reduce((sum, s) => sum + 2 * s.label.length + 64, 0);
  return 2 * key.length + labels + 160;
}

export class ResultCache {
  private readonly entries = new Map<string, { result: CachedResult; bytes: number }>();
  private heldBytes = 0;

  constructor(private readonly limits: { maxEntries: number; maxBytes: number }) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** The answer for `key`, now the most recently used; undefined on a miss. */
  get(key: string): CachedResult | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Map keeps insertion order: re-inserting makes it the newest, so the first entry is always the LRU one.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.result;
  }

  set(key: string, result: CachedResult): void {
    const bytes = entryBytes(key, result);
    if (bytes > this.limits.maxBytes) return;
    this.delete(key);
    this.entries.set(key, { result, bytes });
    this.heldBytes += bytes;
    while (this.entries.size > this.limits.maxEntries || this.heldBytes > this.limits.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
    this.heldBytes = 0;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.heldBytes -= entry.bytes;
  }
}
