import { randomUUID } from 'node:crypto';
import type { Lane } from '../platform/topics.ts';

/** The ImageRequest value (schemas/image-request.avsc). */
export interface ImageRequest {
  request_id: string;
  uri: string;
  submitted_at: number;
  stickiness_key: string | null;
  pinned_version: string | null;
  source: string | null;
  metadata: Record<string, string>;
  /** The model to serve it; null or absent: the deployment's default model. */
  model?: string | null;
  /** Epoch ms after which no one waits for the answer; null or absent: none (REQUEST_MAX_AGE_MS may set one). */
  deadline?: number | null;
  /** The lane: 'high' goes ahead of a backlog; null, absent or 'normal': the normal lane (router/lanes.ts checks it). */
  priority?: string | null;
}

export interface RequestOptions {
  requestId?: string;
  stickinessKey?: string | null;
  pinnedVersion?: string | null;
  source?: string | null;
  metadata?: Record<string, string>;
  model?: string | null;
  deadline?: number | null;
  priority?: Lane | null;
  now?: number;
}

export function newImageRequest(uri: string, o: RequestOptions = {}): ImageRequest {
  return {
    request_id: o.requestId ?? randomUUID(),
    uri,
    submitted_at: o.now ?? Date.now(),
    stickiness_key: o.stickinessKey ?? null,
    pinned_version: o.pinnedVersion ?? null,
    source: o.source ?? null,
    metadata: o.metadata ?? {},
    model: o.model ?? null,
    deadline: o.deadline ?? null,
    priority: o.priority ?? null,
  };
}
