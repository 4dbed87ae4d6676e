/**
 * The Open Inference Protocol v2 HTTP front door. Every answer is in the protocol's shapes (JSON, or a JSON
 * header and binary tensors; errors as `{"error": "..."}`), counted by route template and status, and timed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { Logger } from '../../platform/logger.ts';
import { observeSeconds } from '../../platform/metrics.ts';
import { httpServerSpan, spanTraceparent, SpanStatusCode, withSpan } from '../../platform/tracing.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ModelCatalog } from '../model-catalog.ts';
import type { PageFile } from '../page/assets.ts';
import type { RequestTracker } from '../pipeline/request-tracker.ts';
import type { Submission } from '../pipeline/submitter.ts';
import { HEADER_LENGTH, splitBody } from '../protocol/binary-tensor.ts';
import { imageType } from '../protocol/image-type.ts';
import { parseInferRequest, type InferRequest, type RequestLimits } from '../protocol/infer-request.ts';
import { buildInferResponse, type ResponseContext, type ServedPrediction } from '../protocol/infer-response.ts';
import type { Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { checkContentType, checkDeclaredLength, readBody } from './request-body.ts';
import { matchRoute, type RouteMatch } from './routes.ts';

export type ResponseMeta = Omit<ResponseContext, 'inferenceId'>;

export interface GatewayDeps {
  catalog: ModelCatalog;
  tracker: RequestTracker<Prediction, ResponseMeta, ServedPrediction>;
  submit: (s: Submission, onStage: (stage: 'upload' | 'publish', seconds: number) => void) => Promise<void>;
  auth: Authenticator;
  limiter: RateLimiter;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Connected to Kafka and reading answers: inference is accepted only then. */
  ready: () => boolean;
  limits: RequestLimits & {
    maxBodyBytes: number; timeoutMs: number; resultTtlMs: number; maxInFlightPerClient: number;
    /** Clients (token names) that may send `parameters.priority` "high"; "*": every client. Absent: none. */
    highPriorityClients?: readonly string[];
  };
  server: { name: string; version: string };
  /** The OpenAPI document of this API, served without a token. */
  openapi: () => Promise<Buffer>;
  /** The browser page's files by name (GET /ui), served without a token. */
  page: (file: string) => Promise<PageFile>;
}

/** What a synchronous request keeps while it waits: never its body or images. */
interface Accepted {
  inferenceId: string;
  meta: ResponseMeta;
  async: boolean;
  timeoutMs: number | undefined;
}

interface Reply {
  status: number;
  body: Buffer | object;
  headers?: Record<string, string>;
}

const json = (status: number, body: object, headers: Record<string, string> = {}): Reply => ({ status, body, headers });

export class GatewayServer {
  /** Inference requests per client between admission and publishing: each may hold a body of up to maxBodyBytes. */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly d: GatewayDeps) {}

  async listen(host: string, port: number): Promise<Server> {
    const server = createServer((req, res) => void this.serve(req, res));
    // curl and others ask before sending a large body: an oversized one is refused before it is sent.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      try {
        checkDeclaredLength(req.headers['content-length'], this.d.limits.maxBodyBytes);
      } catch (err) {
        return void this.serve(req, res, err as HttpError);
      }
      res.writeContinue();
      void this.serve(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.d.logger.info({ address: server.address() }, 'Open Inference Protocol v2 listening');
    return server;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, early?: HttpError): Promise<void> {
    const started = performance.now();
    let template = 'unmatched';
    let reply: Reply;
    let client: string | undefined;
    // The request's span continues a traceparent the client sent; the requests it publishes are its children.
    const span = httpServerSpan(req);
    try {
      if (early) throw early;
      const route = matchRoute(req.method ?? 'GET', req.url ?? '/');
      template = route.template;
      span.updateName(`${req.method ?? 'GET'} ${template}`);
      span.setAttribute('http.route', template);
      if (!route.open) {
        client = this.d.auth.authenticate(req.headers.authorization, req.socket.remoteAddress ?? 'unknown');
        this.admit(client, 1);
      }
      reply = await withSpan(span, () => this.route(route, req, client ?? ''));
    } catch (err) {
      reply = this.failure(err, template);
    }
    span.setAttribute('http.response.status_code', reply.status);
    if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    // Trace Context level 2's response header: the client learns the trace its request was recorded in.
    const traceresponse = spanTraceparent(span);
    if (traceresponse) reply = { ...reply, headers: { ...reply.headers, traceresponse } };
    this.write(res, reply);
    const seconds = (performance.now() - started) / 1000;
    this.d.metrics.requests.inc({ route: template, code: String(reply.status) });
    withSpan(span, () => observeSeconds(this.d.metrics.requestSeconds, { route: template }, seconds));
    const line = { route: template, method: req.method, status: reply.status, client, ms: Math.round(seconds * 1000), requestId: reply.headers?.['x-request-id'] };
    // Inside the request's span, so the line carries its trace_id and span_id.
    withSpan(span, () => (reply.status >= 500 ? this.d.logger.warn(line, 'request failed') : this.d.logger.debug(line, 'request answered')));
  }

  private failure(err: unknown, template: string): Reply {
    if (err instanceof HttpError) return json(err.status, err.body(), err.headers);
    this.d.logger.error({ err, route: template }, 'unexpected failure');
    return json(500, { error: `the gateway failed: ${(err as Error).message}` });
  }

  private write(res: ServerResponse, reply: Reply): void {
    if (res.headersSent) return void res.end();
    const body = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(JSON.stringify(reply.body));
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers, 'content-length': String(body.length) });
    res.end(body);
  }

  private admit(client: string, cost: number): void {
    const admission = this.d.limiter.take(client, cost);
    if (!admission.ok) {
      throw new HttpError(429, `rate limit reached for ${client}; retry in ${admission.retryAfterSeconds} s`, { headers: { 'retry-after': String(admission.retryAfterSeconds) } });
    }
  }

  private async route(route: RouteMatch, req: IncomingMessage, client: string): Promise<Reply> {
    const { catalog } = this.d;
    switch (route.name) {
      case 'live':
        return json(200, { live: true });
      case 'ready': {
        const ready = this.d.ready();
        return json(ready ? 200 : 503, { ready });
      }
      case 'server':
        return json(200, { ...this.d.server, extensions: ['binary_tensor_data'] });
      case 'openapi':
        return { status: 200, body: await this.d.openapi() };
      case 'models':
        return json(200, { models: catalog.names.map((name) => ({ name, versions: catalog.versions(name) })) });
      case 'model':
        return json(200, catalog.metadata(route.model, route.version));
      case 'modelReady': {
        catalog.require(route.model, route.version);
        const ready = this.d.ready();
        return json(ready ? 200 : 503, { name: route.model, ready });
      }
      case 'infer':
        return this.infer(route, req, client);
      case 'result':
        return this.result(route.id, client);
      case 'page': {
        const file = await this.d.page(route.file);
        return { status: 200, body: file.body, headers: file.headers };
      }
    }
  }

  private async infer(route: RouteMatch, req: IncomingMessage, client: string): Promise<Reply> {
    this.d.catalog.require(route.model, route.version);
    checkContentType(req.headers['content-type']);
    if (!this.d.ready()) throw new HttpError(503, 'the gateway is not connected to the pipeline yet; retry shortly', { headers: { 'retry-after': '1' } });
    const { inferenceId, meta, async, timeoutMs } = await this.holdingSlot(client, () => this.accept(route, req, client));
    try {
      const location = `/v2/results/${inferenceId}`;
      const reply = async
        ? json(202, { id: meta.id, request_id: inferenceId, status: 'pending', result: location }, { location })
        : await this.await(inferenceId, meta, timeoutMs, location);
      return { ...reply, headers: { ...reply.headers, 'x-request-id': inferenceId } };
    } catch (err) {
      // Every answer to an accepted request names its id, errors included, so it can be found in the topics.
      if (err instanceof HttpError) err.headers['x-request-id'] = inferenceId;
      throw err;
    }
  }

  /** Runs `work` in one of the client's in-flight slots, or answers 429 when it has none free. */
  private async holdingSlot<T>(client: string, work: () => Promise<T>): Promise<T> {
    const held = this.inFlight.get(client) ?? 0;
    const limit = this.d.limits.maxInFlightPerClient;
    if (held >= limit) {
      throw new HttpError(429, `client ${client} is already sending ${held} inference requests at once, its limit (GATEWAY_MAX_IN_FLIGHT_PER_CLIENT); wait for one to be accepted`, { headers: { 'retry-after': '1' } });
    }
    this.inFlight.set(client, held + 1);
    try {
      return await work();
    } finally {
      const left = (this.inFlight.get(client) ?? 1) - 1;
      if (left > 0) this.inFlight.set(client, left);
      else this.inFlight.delete(client);
    }
  }

  /** Reads, checks, stores and publishes a request; the body and images are released when this returns. */
  private async accept(route: RouteMatch, req: IncomingMessage, client: string): Promise<Accepted> {
    const request = await this.read(req);
    if (request.priority === 'high' && !this.mayAskHigh(client)) {
      throw new HttpError(403, `client ${client} may not send parameters.priority "high"; the gateway's GATEWAY_HIGH_PRIORITY_CLIENTS names the clients that may`);
    }
    const imageTypes = request.input.kind === 'image' ? request.input.images.map(checkImage) : [];
    const count = request.input.kind === 'image' ? request.input.images.length : request.input.uris.length;
    // One token was taken for the request; an inference costs one per image.
    if (count > 1) this.admit(client, count - 1);

    const inferenceId = randomUUID();
    const requestIds = count === 1 ? [inferenceId] : Array.from({ length: count }, (_, i) => `${inferenceId}.${i}`);
    const meta: ResponseMeta = { modelName: route.model, pinnedVersion: route.version, id: request.id ?? inferenceId, outputs: request.outputs };
    this.d.tracker.track({ inferenceId, client, requestIds, meta });
    try {
      await this.d.submit(
        {
          requestIds, input: request.input, imageTypes, model: route.model, pinnedVersion: route.version, stickinessKey: request.stickinessKey, client,
          priority: request.priority,
          waitMs: request.async ? this.d.limits.resultTtlMs : Math.min(this.d.limits.timeoutMs, request.timeoutMs ?? Infinity),
        },
        (stage, seconds) => this.d.metrics.stageSeconds.observe({ stage }, seconds),
      );
    } catch (err) {
      this.d.tracker.forget(inferenceId);
      if (err instanceof HttpError) err.headers['x-request-id'] = inferenceId;
      throw err;
    }
    this.d.metrics.images.inc({ input: request.input.kind }, count);
    return { inferenceId, meta, async: request.async, timeoutMs: request.timeoutMs };
  }

  private mayAskHigh(client: string): boolean {
    const allowed = this.d.limits.highPriorityClients ?? [];
    return allowed.includes('*') || allowed.includes(client);
  }

  /** The parsed request; the raw body stays reachable only through images sent as binary data (views on it). */
  private async read(req: IncomingMessage): Promise<InferRequest> {
    const body = await readBody(req, this.d.limits.maxBodyBytes);
    const { json: header, binary } = splitBody(body, req.headers[HEADER_LENGTH] as string | undefined);
    return parseInferRequest(header, binary, this.d.limits);
  }

  private async await(inferenceId: string, meta: ResponseMeta, requestedMs: number | undefined, location: string): Promise<Reply> {
    const timeoutMs = Math.min(this.d.limits.timeoutMs, requestedMs ?? Infinity);
    const timer = this.d.metrics.stageSeconds.startTimer({ stage: 'wait' });
    const outcome = await this.d.tracker.wait(inferenceId, timeoutMs);
    timer();
    if (!outcome) {
      this.d.metrics.settled.inc({ result: 'timeout' });
      // Still tracked: the answer may come later and can be fetched until the result TTL.
      throw new HttpError(504, `no answer for request ${inferenceId} within ${timeoutMs} ms; it may still finish: GET ${location} (kept ${Math.round(this.d.limits.resultTtlMs / 1000)} s)`, {
        fields: { id: meta.id, request_id: inferenceId },
        headers: { location },
      });
    }
    this.d.tracker.forget(inferenceId);
    if (!outcome.ok) throw outcome.error;
    return encoded(buildInferResponse(outcome.predictions, { ...meta, inferenceId }));
  }

  private result(inferenceId: string, client: string): Reply {
    const found = this.d.tracker.lookup(inferenceId, client);
    if (!found) {
      throw new HttpError(404, `no request ${inferenceId} for this client here: unknown, expired (results are kept ${Math.round(this.d.limits.resultTtlMs / 1000)} s), or sent to another gateway instance`);
    }
    if (found.state === 'pending') return json(202, { id: found.meta.id, request_id: inferenceId, status: 'pending' }, { 'retry-after': '1' });
    if (!found.outcome.ok) throw found.outcome.error;
    return encoded(buildInferResponse(found.outcome.predictions, { ...found.meta, inferenceId }));
  }
}

function encoded(r: { body: Buffer; headers: Record<string, string> }): Reply {
  return { status: 200, body: r.body, headers: r.headers };
}

function checkImage(image: Buffer, i: number): string {
  const type = imageType(image);
  if (!type) {
    throw new HttpError(422, `input "image": element ${i} is not an image the pipeline decodes (PNG, JPEG, WebP, GIF, TIFF or AVIF); it starts with bytes ${image.subarray(0, 8).toString('hex')}`);
  }
  return type;
}
