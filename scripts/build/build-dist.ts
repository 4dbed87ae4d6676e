/**
 * `npm run build`: dist/ from scratch (a stale module of a deleted source must not survive), tsc's emit of
 * tsconfig.build.json, then the run-time assets beside the compiled modules (see dist-layout.ts).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BUILD_TSCONFIG, DIST_DIR, RUNTIME_ASSETS } from './dist-layout.ts';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, DIST_DIR);

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, BUILD_TSCONFIG)], { cwd: root, stdio: 'inherit' });
let copied = 0;
for (const asset of RUNTIME_ASSETS) {
  for (const file of asset.files(root)) {
    mkdirSync(dirname(join(dist, file)), { recursive: true });
    copyFileSync(join(root, file), join(dist, file));
    copied += 1;
  }
}
process.stdout.write(`${DIST_DIR}/ built: compiled modules and ${copied} run-time files\n`);
