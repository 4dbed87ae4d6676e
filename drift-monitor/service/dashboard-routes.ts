/** The dashboard on the ops server: its static files at `/` and GET /api/state, the JSON the page polls. */
import { readFile } from 'node:fs/promises';
import type { RouteHandler } from '../../platform/http-server.ts';
import type { DashboardState } from '../analytics/dashboard-state.ts';
import { DASHBOARD_PATHS, dashboardAsset } from '../dashboard/assets.ts';

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  // The page loads only its own files; it fetches its own API and the rollout controller's (another port).
  'content-security-policy': "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
};

function readOnly(handler: RouteHandler): RouteHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    return handler(req, res);
  };
}

/** Reads the files once (a few kB), so requests never touch the file system. */
export async function dashboardRoutes(state: () => DashboardState): Promise<Record<string, RouteHandler>> {
  const routes: Record<string, RouteHandler> = {};
  for (const path of DASHBOARD_PATHS) {
    const asset = dashboardAsset(path)!;
    const body = await readFile(asset.file);
    routes[path] = readOnly((req, res) => {
      res.writeHead(200, { ...COMMON_HEADERS, 'content-type': asset.contentType, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }
  routes['/api/state'] = readOnly((req, res) => {
    const body = JSON.stringify(state());
    res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return routes;
}
