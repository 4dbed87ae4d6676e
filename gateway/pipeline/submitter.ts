/**
 * Turns an accepted inference request into pipeline work: uploaded images go to the object store (the
 * consumers fetch them by s3:// URI like any other), then one ImageRequest per image goes to the input topic,
 * naming the model of the path, whose experiment picks the version unless the path pinned one.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../../platform/concurrency.ts';
import type { Lane } from '../../platform/topics.ts';
import { newImageRequest, type ImageRequest } from '../../producers/image-request.ts';
import type { RequestPublisher } from '../../producers/publisher.ts';
import { HttpError } from '../http/http-error.ts';
import type { ImageInput } from '../protocol/infer-request.ts';

export interface Submission {
  requestIds: string[];
  input: ImageInput;
  /** Media type per uploaded image, from its first bytes. */
  imageTypes: string[];
  /** The model the path names: the router routes by that model's experiment. */
  model: string;
  pinnedVersion: string | null;
  stickinessKey: string | null;
  /** The lane asked for; null: none (normal, unless the experiment's rule sets one). */
  priority?: Lane | null;
  client: string;
  /**
   * How long the caller waits for the answer (the wait before 504, or how long an asynchronous result is
   * kept): each request's deadline is its publication plus this, so a backlog skips it once no one waits.
   */
  waitMs?: number;
}

export interface SubmitterOptions {
  s3: S3Client;
  bucket: string;
  uploadPrefix: string;
  publisher: RequestPublisher;
}

/** Pure: the ImageRequests for a submission whose images (if any) are at `uris`. */
export function imageRequests(s: Submission, uris: string[], now: number): ImageRequest[] {
  return s.requestIds.map((requestId, i) => newImageRequest(uris[i] as string, {
    requestId,
    now,
    pinnedVersion: s.pinnedVersion,
    model: s.model,
    stickinessKey: s.stickinessKey,
    source: 'gateway',
    metadata: { client: s.client },
    deadline: s.waitMs === undefined ? null : now + s.waitMs,
    priority: s.priority ?? null,
  }));
}

export class Submitter {
  constructor(private readonly o: SubmitterOptions) {}

  /** Uploads the images (if any) and publishes; resolves once the broker acknowledged every request. */
  async submit(s: Submission, onStage: (stage: 'upload' | 'publish', seconds: number) => void = () => {}): Promise<void> {
    let started = performance.now();
    let uris: string[];
    if (s.input.kind === 'uri') {
      uris = s.input.uris;
    } else {
      const images = s.input.images;
      uris = await mapWithConcurrency(s.requestIds, 8, async (requestId, i) => {
        const key = `${this.o.uploadPrefix}${requestId}`;
        await this.o.s3.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: key, Body: images[i], ContentType: s.imageTypes[i] }))
          .catch((err: unknown) => { throw unavailable(`the object store refused the upload (${(err as Error).message}); nothing was published`); });
        return `s3://${this.o.bucket}/${key}`;
      });
      onStage('upload', (performance.now() - started) / 1000);
      started = performance.now();
    }
    await this.o.publisher.publish(imageRequests(s, uris, Date.now()))
      .catch((err: unknown) => { throw unavailable(`Kafka did not acknowledge the request (${(err as Error).message})`); });
    onStage('publish', (performance.now() - started) / 1000);
  }
}

function unavailable(what: string): HttpError {
  return new HttpError(503, `${what}; retry shortly`, { headers: { 'retry-after': '1' } });
}
