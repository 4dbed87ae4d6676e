import { describe, expect, it } from 'vitest';
import { classifyAddress, isHostAllowListed, isMetadataHostname } from '../../../inference-consumers/fetch/address-policy.ts';
import { checkConnectAddress, checkHttpUrl, isInsideRoots, uriScheme } from '../../../inference-consumers/fetch/uri-policy.ts';

describe('classifyAddress', () => {
  it.each([
    ['169.254.169.254', 'forbidden'],
    ['169.254.1.1', 'forbidden'],
    ['fe80::1', 'forbidden'],
    ['fe80::1%eth0', 'forbidden'],
    ['fd00:ec2::254', 'forbidden'],
    ['::ffff:169.254.169.254', 'forbidden'],
    ['64:ff9b::a9fe:a9fe', 'forbidden'],
    ['::169.254.169.254', 'forbidden'],
    ['::a9fe:a9fe', 'forbidden'],
    ['64:ff9b:1::a9fe:a9fe', 'forbidden'],
    ['64:ff9b:1:a9fe:a9:fe00::', 'forbidden'],
    ['64:ff9b:1::808:808', 'forbidden'],
    ['127.0.0.1', 'private'],
    ['::1', 'private'],
    ['::ffff:127.0.0.1', 'private'],
    ['::127.0.0.1', 'private'],
    ['::10.0.3.7', 'private'],
    ['::8.8.8.8', 'private'],
    ['::', 'private'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['0.0.0.0', 'private'],
    ['fd12::1', 'private'],
    ['224.0.0.1', 'private'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700::1111', 'public'],
    ['64:ff9b:2::1', 'public'],
    ['::1:0:0:1', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('throws for a name', () => {
    expect(() => classifyAddress('example.com')).toThrow(/not an IP address/);
  });
});

describe('host lists', () => {
  it('knows metadata names in any case and with a trailing dot', () => {
    expect(isMetadataHostname('Metadata.Google.Internal.')).toBe(true);
    expect(isMetadataHostname('images.example.com')).toBe(false);
  });

  it('matches allow-list entries exactly, or subdomains with *.', () => {
    expect(isHostAllowListed('IMG.example.com', ['img.example.com'])).toBe(true);
    expect(isHostAllowListed('cdn.img.example.com', ['*.example.com'])).toBe(true);
    expect(isHostAllowListed('example.com', ['*.example.com'])).toBe(false);
    expect(isHostAllowListed('badexample.com', ['*.example.com'])).toBe(false);
    expect(isHostAllowListed('[::1]', ['::1'])).toBe(true);
  });
});

describe('checkHttpUrl', () => {
  const refused = (url: string, allowed: string[], pattern: RegExp) =>
    expect(() => checkHttpUrl(url, allowed)).toThrow(expect.objectContaining({ errorClass: 'ForbiddenUri', stage: 'fetch', message: expect.stringMatching(pattern) }));

  it('always refuses metadata names and link-local addresses, even when allow-listed', () => {
    refused('http://169.254.169.254/latest/meta-data', [], /link-local and metadata/);
    refused('http://169.254.169.254/latest/meta-data', ['169.254.169.254'], /link-local and metadata/);
    refused('http://metadata.google.internal/computeMetadata/v1/', ['metadata.google.internal'], /metadata endpoints/);
    refused('http://[fd00:ec2::254]/', ['fd00:ec2::254'], /link-local and metadata/);
    refused('http://[fe80::1]/', [], /link-local/);
  });

  it('refuses private and loopback literals unless the host is allow-listed', () => {
    refused('http://127.0.0.1:8080/a.png', [], /private or loopback/);
    refused('http://10.0.0.8/a.png', [], /add the host to the allow-list/);
    expect(checkHttpUrl('http://127.0.0.1:8080/a.png', ['127.0.0.1']).allowListed).toBe(true);
  });

  it('refuses hosts off a non-empty allow-list, and credentials in URLs', () => {
    refused('https://other.example.com/a.png', ['img.example.com'], /not on the image host allow-list/);
    refused('https://user:secret@img.example.com/a.png', [], /credentials/);
    expect(checkHttpUrl('https://img.example.com/a.png', []).allowListed).toBe(false);
  });

  it('checks resolved addresses with the host decision', () => {
    expect(() => checkConnectAddress('10.0.0.1', { host: 'x.test', allowListed: false })).toThrow(/private or loopback/);
    expect(() => checkConnectAddress('10.0.0.1', { host: 'x.test', allowListed: true })).not.toThrow();
    expect(() => checkConnectAddress('169.254.169.254', { host: 'x.test', allowListed: true })).toThrow(/never fetched/);
  });
});

describe('uriScheme', () => {
  it('sorts URIs by fetcher and refuses the rest', () => {
    expect(uriScheme('S3://b/k')).toBe('s3');
    expect(uriScheme('https://x/y')).toBe('http');
    expect(uriScheme('file:///x')).toBe('file');
    expect(() => uriScheme('ftp://x/y')).toThrow(expect.objectContaining({ errorClass: 'UnsupportedUri' }));
    expect(() => uriScheme('/plain/path')).toThrow(expect.objectContaining({ errorClass: 'UnsupportedUri' }));
  });
});

describe('isInsideRoots', () => {
  it('accepts paths strictly below a root', () => {
    expect(isInsideRoots('/data/images/a.png', ['/data/images'])).toBe(true);
    expect(isInsideRoots('/data/images/..hidden.png', ['/data/images'])).toBe(true);
    expect(isInsideRoots('/data/images', ['/data/images'])).toBe(false);
    expect(isInsideRoots('/data/images-other/a.png', ['/data/images'])).toBe(false);
    expect(isInsideRoots('/etc/passwd', ['/data/images'])).toBe(false);
  });
});
