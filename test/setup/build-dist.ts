/** Global setup of the e2e-dist project: compiles the services once (npm run build) before they run from dist/. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../stack/paths.ts';

export default function setup(): void {
  execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'build', 'build-dist.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
}
