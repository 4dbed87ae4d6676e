/**
 * Fetches an image over http(s) under the URI policy. The DNS lookup is done by us inside the socket's
 * connect, so the address checked is exactly the address connected to (no rebinding between check and
 * use). Redirects are followed only up to a limit and every hop is checked again.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { promises as dns } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { PipelineError } from '../../platform/errors.ts';
import type { Deadline } from './deadline.ts';
import { networkError } from './network-errors.ts';
import { readLimited, tooLarge } from './read-limited.ts';
import { checkConnectAddress, checkHttpUrl, forbidden, type HttpTarget } from './uri-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has; injectable so tests can fake DNS answers. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export interface HttpFetchOptions {
  maxBytes: number;
  allowedHosts: readonly string[];
  /** 0 refuses every redirect. */
  maxRedirects: number;
  deadline: Deadline;
  resolver?: Resolver;
}

/** Scheme, host and path only: query strings can hold signatures (presigned URLs) and stay out of messages. */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Classifies a non-2xx, non-redirect response status. */
export function httpStatusError(status: number, what: string): PipelineError {
  const message = `${what} answered HTTP ${status}`;
  if (status === 404 || status === 410) return new PipelineError('fetch', 'NotFound', `${message}: no such image.`);
  if (status === 401 || status === 403 || status === 451) {
    return new PipelineError('fetch', 'AccessDenied', `${message}: access denied; check the URL's permissions.`);
  }
  if (status === 429 || status === 503) return new PipelineError('fetch', 'Throttled', `${message}: throttled; it will be retried.`, true);
  if (status === 408 || status === 504) return new PipelineError('fetch', 'Timeout', `${message}: timed out; it will be retried.`, true);
  if (status >= 500) return new PipelineError('fetch', 'ConnectionError', `${message}: server error; it will be retried.`, true);
  return new PipelineError('fetch', 'UnsupportedUri', `${message}: the server refuses this request.`);
}

export async function fetchHttp(uri: string, options: HttpFetchOptions): Promise<Buffer> {
  let target = checkHttpUrl(uri, options.allowedHosts);
  for (let redirects = 0; ; redirects++) {
    const what = `Image at ${describeUrl(target.url)}`;
    const response = await get(target, options, what);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (redirects >= options.maxRedirects) {
        throw forbidden(`${what} redirects, and at most ${options.maxRedirects} redirect(s) are followed; publish the final URL.`);
      }
      target = checkHttpUrl(new URL(location, target.url), options.allowedHosts);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw httpStatusError(status, what);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      response.destroy();
      throw tooLarge(what, options.maxBytes, declared);
    }
    try {
      return await readLimited(response, options.maxBytes, what);
    } catch (err) {
      throw mapRequestError(err, options.deadline, what);
    }
  }
}

function get(target: HttpTarget, options: HttpFetchOptions, what: string): Promise<IncomingMessage> {
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(
      target.url,
      {
        headers: { accept: 'image/*', 'accept-encoding': 'identity' },
        lookup: guardedLookup(target, options.resolver ?? systemResolver),
        signal: options.deadline.signal,
      },
      resolve,
    );
    request.on('error', (err) => reject(mapRequestError(err, options.deadline, what)));
  });
}

/** A socket lookup that refuses the connection when any address of the name is not allowed. */
function guardedLookup(target: HttpTarget, resolver: Resolver): LookupFunction {
  const lookup = (hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    resolver(hostname)
      .then((addresses) => {
        const first = addresses[0];
        if (first === undefined) {
          throw new PipelineError('fetch', 'NotFound', `Host ${hostname} resolved to no address.`);
        }
        for (const { address } of addresses) checkConnectAddress(address, target);
        if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      })
      .catch((err: unknown) => callback(err));
  };
  return lookup as unknown as LookupFunction;
}

function mapRequestError(err: unknown, deadline: Deadline, what: string): PipelineError {
  if (err instanceof PipelineError) return err;
  if (deadline.signal.aborted) return deadline.abortError(what);
  return (
    networkError(err, what) ??
    new PipelineError('fetch', 'ConnectionError', `${what}: ${err instanceof Error ? err.message : String(err)}`, true, {
      cause: err,
    })
  );
}
