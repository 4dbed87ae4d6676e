import { describe, expect, it } from 'vitest';
import { entryBytes, readResultCacheSettings, ResultCache, resultKey, type CachedResult } from '../../../inference-consumers/service/result-cache.ts';
import { readEnv } from '../platform/read-env.ts';

const stats = { width: 28, height: 28, channels: 1, bytes: 300, brightness: 0.2, contrast: 0.3, quality: null };
const answer = (label: string): CachedResult => ({ top: [{ index: 1, label, score: 0.9 }], stats });
const SHA = 'a'.repeat(64);

describe('result cache key', () => {
  it('changes with the bytes, the version and the model file, and not with anything else', () => {
    const bytes = Buffer.from('image bytes');
    const key = resultKey(SHA, 'v1', bytes);
    expect(resultKey(SHA, 'v1', Buffer.from('image bytes'))).toBe(key);
    expect(resultKey(SHA, 'v1', Buffer.from('image bytez'))).not.toBe(key);
    expect(resultKey(SHA, 'v2', bytes)).not.toBe(key);
    expect(resultKey('b'.repeat(64), 'v1', bytes)).not.toBe(key);
  });
});

describe('ResultCache', () => {
  it('evicts the least recently used entry beyond its entry bound', () => {
    const cache = new ResultCache({ maxEntries: 2, maxBytes: 1_000_000 });
    cache.set('a', answer('A'));
    cache.set('b', answer('B'));
    expect(cache.get('a')?.top[0]?.label).toBe('A');
    cache.set('c', answer('C'));
    expect([cache.get('a') !== undefined, cache.get('b') !== undefined, cache.get('c') !== undefined]).toEqual([true, false, true]);
    expect(cache.size).toBe(2);
  });

  it('keeps its estimated bytes under the bound and counts them back on eviction, replacement and clear', () => {
    const one = entryBytes('k0', answer('X'));
    const cache = new ResultCache({ maxEntries: 1_000, maxBytes: 3 * one });
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, answer('X'));
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBe(3 * one);
    expect(cache.get('k9')).toBeDefined();
    expect(cache.get('k6')).toBeUndefined();
    cache.set('k9', answer('Y'));
    expect([cache.size, cache.bytes, cache.get('k9')?.top[0]?.label]).toEqual([3, 3 * one, 'Y']);
    cache.clear();
    expect([cache.size, cache.bytes, cache.get('k9')]).toEqual([0, 0, undefined]);
  });

  it('does not keep an entry larger than the whole bound', () => {
    const cache = new ResultCache({ maxEntries: 10, maxBytes: 100 });
    cache.set('k', answer('a long label'.repeat(10)));
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });

  it('is off unless RESULT_CACHE=on, with validated bounds', () => {
    expect(readEnv({}, readResultCacheSettings).settings.enabled).toBe(false);
    expect(readEnv({ RESULT_CACHE: 'on', RESULT_CACHE_MAX_ENTRIES: '500' }, readResultCacheSettings).settings).toEqual({ enabled: true, maxEntries: 500, maxBytes: 64 * 1024 * 1024 });
    expect(readEnv({ RESULT_CACHE: 'yes' }, readResultCacheSettings).problems.join()).toMatch(/RESULT_CACHE/);
    expect(readEnv({ RESULT_CACHE_MAX_BYTES: '10' }, readResultCacheSettings).problems.join()).toMatch(/RESULT_CACHE_MAX_BYTES/);
  });
});
