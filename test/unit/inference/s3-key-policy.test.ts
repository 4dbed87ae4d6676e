import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it, vi } from 'vitest';
import { fetchImage, type FetchPolicy } from '../../../inference-consumers/fetch/fetch-image.ts';
import { parseS3Uri } from '../../../platform/s3-uri.ts';

const policy: FetchPolicy = { maxBytes: 1024, timeoutMs: 2000, allowedHosts: [], allowedFileRoots: [], syncFileReads: true, maxRedirects: 0 };

describe('s3:// object keys', () => {
  it.each(['s3://bucket/images/../secret.png', 's3://bucket/../a.png', 's3://bucket/images/./a.png', 's3://bucket/images//a.png', 's3://bucket//a.png', 's3://bucket/a/..'])(
    'refuses %s as a forbidden URI before asking the object store',
    async (uri) => {
      const send = vi.fn(async () => ({ Body: Readable.from([Buffer.from('x')]) }));
      await expect(fetchImage(uri, policy, { s3: { send } as unknown as S3Client })).rejects.toMatchObject({
        stage: 'fetch',
        errorClass: 'ForbiddenUri',
        transient: false,
        message: expect.stringMatching(/"\.\."/),
      });
      expect(send).not.toHaveBeenCalled();
    },
  );

  it('keeps keys whose segments merely contain dots, and leaves prefixes to the caller', () => {
    expect(parseS3Uri('s3://bucket/a..b/.hidden/..png')).toEqual({ bucket: 'bucket', key: 'a..b/.hidden/..png' });
    expect(parseS3Uri('s3://bucket/images/')).toEqual({ bucket: 'bucket', key: 'images/' });
    expect(parseS3Uri('s3://bucket/')).toEqual({ bucket: 'bucket', key: '' });
  });
});
