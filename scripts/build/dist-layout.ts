/**
 * What `npm run build` writes to dist/: the services compiled by tsc (tsconfig.build.json) and, beside the
 * compiled modules, the files those modules read at run time through paths relative to `import.meta.url` or to
 * the working directory. The build and the image test (test/deploy/image.test.ts) both read this list, so the
 * Dockerfile, the build and the services cannot drift apart silently.
 *
 * Run from dist/ as the working directory, the compiled tree is the same as the image's WORKDIR (/app/dist):
 * `node router/main.js`, with node_modules and package.json ("type": "module") one level up.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DIST_DIR = 'dist';
export const BUILD_TSCONFIG = 'tsconfig.build.json';

export interface RuntimeAsset {
  /** Folder in the repository, copied to the same place under dist/. */
  dir: string;
  /** Who reads these files at run time, for the reader of a failing check. */
  readBy: string;
  /** The files of `dir` to copy, relative to the repository root. */
  files(root: string): string[];
}

function matching(dir: string, pattern: RegExp): (root: string) => string[] {
  return (root) => readdirSync(join(root, dir)).filter((f) => pattern.test(f)).sort().map((f) => `${dir}/${f}`);
}

/** Every models/<name>/<version>/manifest.json and the model file it names; not the training code. */
function modelFiles(root: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(join(root, 'models'), { withFileTypes: true })) {
    if (!name.isDirectory()) continue;
    for (const version of readdirSync(join(root, 'models', name.name), { withFileTypes: true })) {
      const dir = `models/${name.name}/${version.name}`;
      if (!version.isDirectory() || !existsSync(join(root, dir, 'manifest.json'))) continue;
      const manifest = JSON.parse(readFileSync(join(root, dir, 'manifest.json'), 'utf8')) as { file?: unknown };
      if (typeof manifest.file !== 'string') throw new Error(`${dir}/manifest.json names no model file ("file")`);
      files.push(`${dir}/manifest.json`, `${dir}/${manifest.file}`);
    }
  }
  return files.sort();
}

export const RUNTIME_ASSETS: readonly RuntimeAsset[] = [
  { dir: 'schemas', readBy: 'platform/schema-registry.ts (../schemas/ from its module)', files: matching('schemas', /\.avsc$/) },
  { dir: 'gateway', readBy: 'gateway/main.ts (openapi.json beside its module, served at GET /v2/openapi.json)', files: matching('gateway', /^openapi\.json$/) },
  { dir: 'gateway/page', readBy: 'gateway/page/assets.ts (beside its module, served at GET /ui)', files: matching('gateway/page', /\.(html|css|js|svg)$/) },
  { dir: 'drift-monitor/dashboard', readBy: 'drift-monitor/dashboard/assets.ts (beside its module)', files: matching('drift-monitor/dashboard', /\.(html|css|js)$/) },
  {
    dir: 'models',
    readBy: 'drift-monitor/service/references.ts (../../models/ from its module) and the MODEL_URI default (models/<name>/<version> from the working directory)',
    files: modelFiles,
  },
];

/** The compiled file of a source module: `router/main.ts` → `router/main.js` (relative to dist/). */
export function compiledPath(source: string): string {
  return source.replace(/\.ts$/, '.js');
}
