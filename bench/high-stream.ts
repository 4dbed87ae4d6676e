/**
 * The priority bench's producer of high-priority requests, in a process of its own: the bench process also
 * collects every prediction (thousands a second behind a backlog), and a request stamped and sent from that busy
 * event loop would count the bench's own delay as pipeline latency. A real upstream producer is a process apart.
 * `publishHighStream` forks this file; the child publishes and answers with the requests as sent.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClients } from '../platform/clients.ts';
import { EnvReader } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { readCommonSettings } from '../platform/service-config.ts';
import { newImageRequest, type ImageRequest } from '../producers/image-request.ts';
import { RequestPublisher } from '../producers/publisher.ts';

export interface HighStreamPlan {
  uris: string[];
  /** Requests per second, for `seconds`. */
  rate: number;
  seconds: number;
  /** Request ids are `<tag>-high-<i>` (and `<tag>-twin-<i>`). */
  tag: string;
  /** Each high request with the same image in the normal lane beside it (what it would wait for without lanes). */
  twins: boolean;
  /**
   * High requests (`<tag>-warm-<i>`) sent at the same rate before the measured ones: the first sends of a fresh
   * producer and the first batches of the lane pay one-off costs (metadata, producer ids, the code's first run)
   * that an upstream service running for a while does not.
   */
  warmup: number;
}

export interface HighStream {
  warm: ImageRequest[];
  high: ImageRequest[];
  twins: ImageRequest[];
}

/** Publishes the plan from a child process (the pipeline's topic prefix comes with the environment). */
export function publishHighStream(plan: HighStreamPlan): Promise<HighStream> {
  const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (sent) => resolve(sent as HighStream));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`high-stream publisher exited with ${code} before answering`)));
    child.send(plan);
  });
}

async function publishInThisProcess(plan: HighStreamPlan): Promise<HighStream> {
  const env = new EnvReader();
  const common = readCommonSettings(env, 'bench-high-stream', 0);
  env.done();
  const clients = await connectClients(common, createLogger('bench-high-stream', 'warn', true));
  try {
    const publisher = new RequestPublisher(clients.producer, clients.serde, clients.topics);
    const sent: HighStream = { warm: [], high: [], twins: [] };
    const start = Date.now();
    for (let w = 0; w < plan.warmup; w += 1) {
      await sleep(Math.max(0, start + (w * 1000) / plan.rate - Date.now()));
      const warm = newImageRequest(plan.uris[(w * 3) % plan.uris.length] as string, { requestId: `${plan.tag}-warm-${w}`, priority: 'high', source: 'bench' });
      await publisher.publish([warm]);
      sent.warm.push(warm);
    }
    for (let i = 0; i < plan.rate * plan.seconds; i += 1) {
      await sleep(Math.max(0, start + ((plan.warmup + i) * 1000) / plan.rate - Date.now()));
      const uri = plan.uris[(i * 7) % plan.uris.length] as string;
      const high = newImageRequest(uri, { requestId: `${plan.tag}-high-${i}`, priority: 'high', source: 'bench' });
      const twin = newImageRequest(uri, { requestId: `${plan.tag}-twin-${i}`, source: 'bench' });
      await publisher.publish(plan.twins ? [high, twin] : [high]);
      sent.high.push(high);
      if (plan.twins) sent.twins.push(twin);
    }
    return sent;
  } finally {
    await clients.close();
  }
}

if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.once('message', (plan) => {
    publishInThisProcess(plan as HighStreamPlan).then(
      (sent) => process.send?.(sent, () => process.exit(0)),
      (err: unknown) => {
        process.stderr.write(`high-stream publisher: ${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  });
}
