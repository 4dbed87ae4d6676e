/**
 * Pure: the Open Inference Protocol v2 REST paths (plus GET /v2/results/{id} for asynchronous requests) to a
 * route, its template (the `route` label of the metrics, never the raw path) and its parameters.
 */
import { HttpError } from './http-error.ts';

export type RouteName = 'live' | 'ready' | 'server' | 'openapi' | 'models' | 'model' | 'modelReady' | 'infer' | 'result' | 'page';

export interface RouteMatch {
  name: RouteName;
  template: string;
  /** Health endpoints answer without a token (Kubernetes probes, load balancers), and so do the API's description and the page's files (the page asks for the token). */
  open: boolean;
  model: string;
  version: string | null;
  id: string;
  /** The page's file named by the path (`/ui` is its index.html); '' for the other routes. */
  file: string;
}

interface RouteSpec {
  name: RouteName;
  method: 'GET' | 'POST';
  template: string;
  pattern: RegExp;
  open?: boolean;
}

const SEGMENT = '([^/]+)';
const model = (rest: string): RegExp => new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?${rest}$`);

const ROUTES: RouteSpec[] = [
  { name: 'live', method: 'GET', template: '/v2/health/live', pattern: /^\/v2\/health\/live$/, open: true },
  { name: 'ready', method: 'GET', template: '/v2/health/ready', pattern: /^\/v2\/health\/ready$/, open: true },
  { name: 'server', method: 'GET', template: '/v2', pattern: /^\/v2\/?$/ },
  { name: 'openapi', method: 'GET', template: '/v2/openapi.json', pattern: /^\/v2\/openapi\.json$/, open: true },
  { name: 'models', method: 'GET', template: '/v2/models', pattern: /^\/v2\/models\/?$/ },
  { name: 'infer', method: 'POST', template: '/v2/models/{name}[/versions/{version}]/infer', pattern: model('/infer') },
  { name: 'modelReady', method: 'GET', template: '/v2/models/{name}[/versions/{version}]/ready', pattern: model('/ready') },
  { name: 'model', method: 'GET', template: '/v2/models/{name}[/versions/{version}]', pattern: model('') },
  { name: 'result', method: 'GET', template: '/v2/results/{id}', pattern: new RegExp(`^/v2/results/${SEGMENT}$`) },
  { name: 'page', method: 'GET', template: '/ui[/{file}]', pattern: /^\/ui(?:\/([^/]*))?$/, open: true },
];

function decode(segment: string | undefined): string {
  if (segment === undefined) return '';
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `the path segment ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}

export function matchRoute(method: string, rawPath: string): RouteMatch {
  const path = rawPath.split('?')[0] ?? '/';
  const candidates = ROUTES.filter((r) => r.pattern.test(path));
  if (candidates.length === 0) {
    throw new HttpError(404, `no such endpoint ${path}; this gateway speaks the Open Inference Protocol v2 under /v2 (see GET /v2) and serves a page for people at /ui`);
  }
  const route = candidates.find((r) => r.method === method);
  if (!route) {
    const allowed = [...new Set(candidates.map((r) => r.method))].join(', ');
    throw new HttpError(405, `${method} is not allowed on ${path}; use ${allowed}`, { headers: { allow: allowed } });
  }
  const groups = route.pattern.exec(path) as RegExpExecArray;
  const first = decode(groups[1]);
  const named = route.name === 'result' || route.name === 'page';
  return {
    name: route.name,
    template: route.template,
    open: route.open ?? false,
    model: named ? '' : first,
    version: named || groups[2] === undefined ? null : decode(groups[2]),
    id: route.name === 'result' ? first : '',
    file: route.name === 'page' ? first || 'index.html' : '',
  };
}
