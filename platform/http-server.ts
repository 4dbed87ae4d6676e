import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';
import { scrape } from './metrics.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** /readyz answers 200 only while this returns true (connected, model loaded, assignment held...). */
  ready: () => boolean;
  /** /healthz answers 200 while this returns true; false once the process has decided to exit (a fatal error). */
  healthy: () => boolean;
  logger: Logger;
  /** Extra routes by exact path (the drift monitor's dashboard and API); read per request, so they may appear after start. */
  routes?: () => Record<string, RouteHandler> | undefined;
}

/** /metrics, /healthz and /readyz for every service, plus optional routes. */
export async function startOpsServer(opts: OpsServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handle = async (): Promise<void> => {
      if (path === '/metrics') {
        const { contentType, body } = await scrape(opts.registry, req.headers.accept);
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      } else if (path === '/healthz') {
        const healthy = opts.healthy();
        res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' }).end(healthy ? 'ok\n' : 'failed: exiting\n');
      } else if (path === '/readyz') {
        const ready = opts.ready();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
      } else if (opts.routes?.()?.[path]) {
        await opts.routes()?.[path]?.(req, res);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    };
    handle().catch((err: unknown) => {
      opts.logger.error({ err, path }, 'ops endpoint failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  opts.logger.info({ address }, 'ops server listening (/metrics, /healthz, /readyz)');
  return server;
}
