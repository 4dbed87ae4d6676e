/**
 * Producer-controlled sizes the router refuses before routing: every routed copy (served and shadows) carries the
 * request's URI and metadata, and predicates match on them, so an oversized request would multiply into every
 * version topic. Pure.
 */
import { PipelineError } from '../platform/errors.ts';
import type { ImageRequest } from '../producers/image-request.ts';

export interface RequestLimits {
  maxUriBytes: number;
  /** Metadata keys and values together, in bytes. */
  maxMetadataBytes: number;
}

export function metadataBytes(metadata: Record<string, string>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/** The dead-letter error for a request over a limit, or undefined when it is within them. */
export function checkRequestLimits(request: ImageRequest, limits: RequestLimits): PipelineError | undefined {
  const uriBytes = Buffer.byteLength(request.uri);
  if (uriBytes > limits.maxUriBytes) {
    return new PipelineError('route', 'InvalidRequest', `uri of ${uriBytes} bytes exceeds ROUTER_MAX_URI_BYTES (${limits.maxUriBytes}); publish a shorter reference to the image`);
  }
  const metaBytes = metadataBytes(request.metadata);
  if (metaBytes > limits.maxMetadataBytes) {
    return new PipelineError('route', 'TooLarge', `metadata of ${metaBytes} bytes (${Object.keys(request.metadata).length} entries) exceeds ROUTER_MAX_METADATA_BYTES (${limits.maxMetadataBytes}); keep bulky data out of the request`);
  }
  return undefined;
}
