import { describe, expect, it } from 'vitest';
import { newImageRequest } from '../../../producers/image-request.ts';
import { PipelineError } from '../../../platform/errors.ts';
import { checkRequestLimits, metadataBytes } from '../../../router/request-limits.ts';

const limits = { maxUriBytes: 64, maxMetadataBytes: 40 };

describe('metadataBytes', () => {
  it('counts keys and values in UTF-8 bytes', () => {
    expect(metadataBytes({})).toBe(0);
    expect(metadataBytes({ ab: 'cde' })).toBe(5);
    expect(metadataBytes({ 'clé': 'été' })).toBe(4 + 5);
    expect(metadataBytes({ '名前': '🙂' })).toBe(6 + 4);
  });
});

describe('checkRequestLimits', () => {
  it('accepts a request within both limits, including one exactly at them', () => {
    expect(checkRequestLimits(newImageRequest('s3://b/k.png', { metadata: { a: 'b' } }), limits)).toBeUndefined();
    const atLimits = newImageRequest(`s3://b/${'k'.repeat(64 - 7)}`, { metadata: { k: 'v'.repeat(39) } });
    expect(Buffer.byteLength(atLimits.uri)).toBe(64);
    expect(checkRequestLimits(atLimits, limits)).toBeUndefined();
  });

  it('refuses a URI over the limit as route/InvalidRequest, naming the variable', () => {
    const error = checkRequestLimits(newImageRequest(`s3://b/${'k'.repeat(58)}`), limits);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ stage: 'route', errorClass: 'InvalidRequest', transient: false });
    expect(error?.message).toMatch(/uri of 65 bytes exceeds ROUTER_MAX_URI_BYTES \(64\)/);
  });

  it('counts a URI\'s multi-byte characters in bytes', () => {
    // 7 + 20 × 3 = 67 bytes in 27 characters.
    const uri = `s3://b/${'日'.repeat(20)}`;
    expect(uri.length).toBeLessThan(64);
    expect(checkRequestLimits(newImageRequest(uri), limits)).toMatchObject({ errorClass: 'InvalidRequest' });
  });

  it('refuses metadata over the limit as route/TooLarge, naming the variable and the entry count', () => {
    const error = checkRequestLimits(newImageRequest('s3://b/k.png', { metadata: { a: 'x'.repeat(20), b: 'y'.repeat(20) } }), limits);
    expect(error).toMatchObject({ stage: 'route', errorClass: 'TooLarge' });
    expect(error?.message).toMatch(/metadata of 42 bytes \(2 entries\) exceeds ROUTER_MAX_METADATA_BYTES \(40\)/);
  });

  it('counts metadata\'s multi-byte characters in bytes', () => {
    // 1 + 13 × 4 = 53 bytes.
    const metadata = { k: '🙂'.repeat(13) };
    expect(Object.values(metadata)[0]?.length).toBe(26); // UTF-16 units: still under 40
    expect(checkRequestLimits(newImageRequest('s3://b/k.png', { metadata }), limits)).toMatchObject({ errorClass: 'TooLarge' });
    expect(checkRequestLimits(newImageRequest('s3://b/k.png', { metadata: { k: 'é'.repeat(20) } }), limits)).toMatchObject({ errorClass: 'TooLarge' });
  });

  it('counts many small entries together', () => {
    const metadata = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i % 10}${i >= 10 ? 'x' : ''}`, 'v']));
    expect(metadataBytes(metadata)).toBe(10 * 3 + 4);
    expect(checkRequestLimits(newImageRequest('s3://b/k.png', { metadata }), limits)).toBeUndefined();
    expect(checkRequestLimits(newImageRequest('s3://b/k.png', { metadata: { ...metadata, z: 'zzzzzz' } }), limits)).toMatchObject({ errorClass: 'TooLarge' });
  });
});
