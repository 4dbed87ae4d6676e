import { newImageRequest, type ImageRequest } from './image-request.ts';
import { Pacer } from './pacer.ts';
import type { Lane } from '../platform/topics.ts';
import type { RequestPublisher } from './publisher.ts';

export interface PublishPlan {
  uris: string[];
  /** Records to send; URIs are cycled when larger than the list. */
  count: number;
  /** Records per second; 0 sends as fast as the broker acknowledges. */
  rate: number;
  batchSize: number;
  /** Stickiness keys user-0..user-(N-1), spread evenly over the records; 0 leaves them empty. */
  users: number;
  metadata: Record<string, string>;
  pinnedVersion?: string | null;
  /** The model to serve every request; null or absent: the deployment's default model. */
  model?: string | null;
  /** The lane of every request; null or absent: none asked for. */
  priority?: Lane | null;
  source?: string;
  /** Stop at this time (ms since epoch) even if count is not reached: the load-generator mode. */
  deadline?: number;
}

/** Pure: the i-th request of a plan. */
export function planRequest(plan: PublishPlan, i: number, now: number): ImageRequest {
  const uri = plan.uris[i % plan.uris.length] as string;
  return newImageRequest(uri, {
    now,
    stickinessKey: plan.users > 0 ? `user-${i % plan.users}` : null,
    pinnedVersion: plan.pinnedVersion ?? null,
    model: plan.model ?? null,
    priority: plan.priority ?? null,
    source: plan.source ?? 'producer-cli',
    metadata: plan.metadata,
  });
}

/** Publishes a plan in paced batches; `onSent` sees every acknowledged batch (progress, bookkeeping). */
export async function publishImages(
  publisher: RequestPublisher,
  plan: PublishPlan,
  onSent: (batch: ImageRequest[]) => void = () => {},
): Promise<number> {
  if (plan.uris.length === 0) throw new Error('nothing to publish: the source listed no image URIs');
  const pacer = new Pacer(plan.rate);
  let sent = 0;
  while (sent < plan.count && (plan.deadline === undefined || Date.now() < plan.deadline)) {
    const n = Math.min(plan.batchSize, plan.count - sent);
    await pacer.next(n);
    const now = Date.now();
    const batch = Array.from({ length: n }, (_, k) => planRequest(plan, sent + k, now));
    await publisher.publish(batch);
    sent += n;
    onSent(batch);
  }
  return sent;
}
