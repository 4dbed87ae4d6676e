/**
 * The dashboard's static files, for the drift-monitor's HTTP server: an allow-list from URL path to file, so no
 * request path ever reaches the file system. The page fetches `api/state` relative to itself, so serve these
 * at the root next to GET /api/state.
 */
import { fileURLToPath } from 'node:url';

export interface DashboardAsset {
  /** Absolute path of the file. */
  file: string;
  contentType: string;
}

const FILES: Record<string, [name: string, contentType: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/dashboard.js': ['dashboard.js', 'text/javascript; charset=utf-8'],
  '/render.js': ['render.js', 'text/javascript; charset=utf-8'],
  '/rollouts.js': ['rollouts.js', 'text/javascript; charset=utf-8'],
  '/dashboard.css': ['dashboard.css', 'text/css; charset=utf-8'],
};

/** Every URL path with a dashboard file, for servers that route by exact path. */
export const DASHBOARD_PATHS: readonly string[] = Object.keys(FILES);

/** The file for a request path (query string already removed), or null when it is not a dashboard file. */
export function dashboardAsset(pathname: string): DashboardAsset | null {
  const entry = Object.hasOwn(FILES, pathname) ? FILES[pathname] : undefined;
  if (!entry) return null;
  return { file: fileURLToPath(new URL(entry[0], import.meta.url)), contentType: entry[1] };
}
