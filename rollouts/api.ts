import type { RouteHandler } from '../platform/http-server.ts';

/**
 * GET /api/rollouts as JSON. Any origin may read it: the drift monitor's dashboard, served from another port,
 * shows the rollout timeline from it (read-only data; no credentials are involved).
 */
export function rolloutsRoute(view: () => unknown): RouteHandler {
  return (req, res) => {
    const headers = { 'access-control-allow-origin': '*', 'x-content-type-options': 'nosniff' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...headers, 'access-control-allow-methods': 'GET' }).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(view()));
  };
}
