/**
 * Pure: whether a client's `uri` input may be fetched by the consumers. Without this, any bucket or host the
 * consumers can read answers, through the dead letter, whether an object exists there. Allowed are prefixes
 * from GATEWAY_URI_ALLOW (default: the upload bucket): `s3://bucket/[prefix/]` compared with the key taken
 * verbatim, the way the consumers read it; `https://host[:port]/[path/]` (and `file:///path/` where that
 * scheme is accepted) compared after WHATWG parsing (dot segments resolved, default port dropped), the way the
 * consumers' fetch reads it.
 */
import { parseS3Uri } from '../../platform/s3-uri.ts';
import { HttpError } from '../http/http-error.ts';
import { quoted } from './client-strings.ts';

export interface UriPolicy {
  schemes: readonly string[];
  allow: readonly string[];
  maxUriBytes: number;
}

const forbidden = (message: string): HttpError => new HttpError(403, message);

function s3Allowed(uri: string, allow: readonly string[]): boolean {
  const { bucket, key } = parseS3Uri(uri);
  return allow.some((entry) => {
    if (!entry.startsWith('s3://')) return false;
    const prefix = parseS3Uri(entry);
    return prefix.bucket === bucket && key.startsWith(prefix.key);
  });
}

function urlAllowed(url: URL, allow: readonly string[]): boolean {
  if (url.username !== '' || url.password !== '') return false;
  return allow.some((entry) => {
    if (entry.startsWith('s3://')) return false;
    const prefix = new URL(entry);
    return prefix.protocol === url.protocol && prefix.host === url.host && url.pathname.startsWith(prefix.pathname);
  });
}

/** The URI as given, or a 400 (not a URI, too long, scheme not accepted) or 403 (outside the allow-list). */
export function checkUri(uri: string, i: number, policy: UriPolicy): string {
  const bytes = Buffer.byteLength(uri);
  if (bytes > policy.maxUriBytes) {
    throw new HttpError(400, `input "uri": element ${i} is ${bytes} bytes, over the limit of ${policy.maxUriBytes} (GATEWAY_MAX_URI_BYTES)`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new HttpError(400, `input "uri": element ${i} is not a URI (${quoted(uri)})`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!policy.schemes.includes(scheme)) {
    throw new HttpError(400, `input "uri": element ${i} uses ${scheme}://, which this gateway does not accept; use ${policy.schemes.map((s) => `${s}://`).join(' or ')} (GATEWAY_URI_SCHEMES)`);
  }
  let allowed: boolean;
  try {
    allowed = scheme === 's3' ? s3Allowed(uri, policy.allow) : urlAllowed(url, policy.allow);
  } catch {
    // A malformed s3:// URI, or a key with empty, "." or ".." segments: never compared with a prefix.
    throw forbidden(`input "uri": element ${i} is not an s3://bucket/key this gateway fetches (empty, "." or ".." key segments are refused)`);
  }
  if (!allowed) {
    throw forbidden(`input "uri": element ${i} points outside the locations this gateway fetches from (GATEWAY_URI_ALLOW: ${policy.allow.join(', ')}); upload the image instead, or ask the operator to allow its location`);
  }
  return uri;
}
