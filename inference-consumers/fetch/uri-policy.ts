/**
 * Policy checks for image URIs, separate from the I/O so they can be tested on their own.
 * http(s): host allow-list, metadata names, and the address actually connected to (checked after DNS).
 * file: the real path (symlinks and `..` resolved) must lie inside an allowed root.
 */
import path from 'node:path';
import { isIP } from 'node:net';
import { PipelineError } from '../../platform/errors.ts';
import { classifyAddress, isHostAllowListed, isMetadataHostname, normaliseHost } from './address-policy.ts';

export type UriScheme = 's3' | 'http' | 'file';

export function forbidden(message: string): PipelineError {
  return new PipelineError('fetch', 'ForbiddenUri', message, false);
}

/** Which fetcher handles a URI; anything else is refused as UnsupportedUri. */
export function uriScheme(uri: string): UriScheme {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 's3') return 's3';
  if (scheme === 'http' || scheme === 'https') return 'http';
  if (scheme === 'file') return 'file';
  throw new PipelineError(
    'fetch',
    'UnsupportedUri',
    `Unsupported image URI scheme "${scheme ?? ''}" in ${uri}; use s3://bucket/key, http(s)://host/path or file:///path.`,
  );
}

export interface HttpTarget {
  url: URL;
  /** Normalised host name or IP literal. */
  host: string;
  /** On the explicit allow-list, which also permits private and loopback addresses. */
  allowListed: boolean;
}

/** Checks an http(s) URL before connecting: scheme, credentials, metadata names and the allow-list. */
export function checkHttpUrl(raw: string | URL, allowedHosts: readonly string[]): HttpTarget {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch {
    throw new PipelineError('fetch', 'UnsupportedUri', `Malformed image URL: ${String(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw forbidden(`Refused ${url.protocol} target for an http(s) fetch (${url.href}); only http and https are followed.`);
  }
  if (url.username || url.password) {
    throw forbidden(`Refused ${url.host}: credentials in image URLs are not accepted; publish URLs without user:password.`);
  }
  const host = normaliseHost(url.hostname);
  if (isMetadataHostname(host)) throw forbidden(`Refused ${host}: cloud metadata endpoints are never fetched.`);
  const allowListed = isHostAllowListed(host, allowedHosts);
  // Address literals first, so a metadata or link-local target is named as such whatever the allow-list says.
  if (isIP(host) !== 0) checkConnectAddress(host, { host, allowListed });
  if (allowedHosts.length > 0 && !allowListed) {
    throw forbidden(`Refused host ${host}: not on the image host allow-list; add it to the allowed hosts to fetch from it.`);
  }
  return { url, host, allowListed };
}

/** Checks one address a host name resolved to (or an IP literal) right before connecting. */
export function checkConnectAddress(address: string, target: Pick<HttpTarget, 'host' | 'allowListed'>): void {
  const kind = classifyAddress(address);
  if (kind === 'forbidden') {
    throw forbidden(`Refused ${target.host} (${address}): link-local and metadata addresses are never fetched.`);
  }
  if (kind === 'private' && !target.allowListed) {
    throw forbidden(
      `Refused ${target.host} (${address}): private or loopback address; add the host to the allow-list to fetch from it.`,
    );
  }
}

/** Whether a real (already symlink-resolved) path lies inside one of the real roots. */
export function isInsideRoots(realPath: string, realRoots: readonly string[]): boolean {
  return realRoots.some((root) => {
    const relative = path.relative(root, realPath);
    const escapes = relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
    return relative !== '' && !escapes;
  });
}
