/**
 * patches/kafkajs+2.2.4.patch reaches every install: npm's postinstall runs patch-package (a production dependency,
 * since the image installs with --omit=dev), each Dockerfile stage that runs npm ci has patches/ in place first, the
 * patch names the kafkajs version the lock file installs, and this checkout's node_modules carries it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copies, parseDockerfile } from '../../../deploy/checks/dockerfile.ts';
import { REPO_ROOT } from '../../../stack/paths.ts';

const PATCH = 'patches/kafkajs+2.2.4.patch';
const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version: string; dev?: boolean }> };

/** The lines the patch adds, per patched file under node_modules. */
function addedLines(patch: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let file: string | undefined;
  for (const line of patch.split('\n')) {
    if (line.startsWith('+++ b/')) {
      file = line.slice('+++ b/'.length);
      out.set(file, []);
    } else if (file && line.startsWith('+')) out.get(file)!.push(line.slice(1));
  }
  return out;
}

describe('the kafkajs patch', () => {
  it('is applied by npm install and npm ci, production installs included', () => {
    expect(pkg.scripts.postinstall).toBe('patch-package');
    expect(pkg.dependencies['patch-package']).toBeDefined();
    expect(lock.packages['node_modules/patch-package']?.dev).toBeUndefined();
  });

  it('names the kafkajs version the lock file installs', () => {
    expect(`patches/kafkajs+${lock.packages['node_modules/kafkajs']!.version}.patch`).toBe(PATCH);
  });

  it('is in place before every npm ci of the image', () => {
    for (const stage of parseDockerfile(read('Dockerfile'))) {
      const install = stage.instructions.findIndex((i) => i.keyword === 'RUN' && /^npm ci\b/.test(i.value));
      if (install < 0) continue;
      const before = copies({ ...stage, instructions: stage.instructions.slice(0, install) });
      expect(before.filter((c) => c.from === undefined).flatMap((c) => c.sources), `stage ${stage.name}`).toContain('patches');
    }
  });

  it('is applied in this checkout', () => {
    const files = addedLines(read(PATCH));
    expect(files.size).toBeGreaterThan(0);
    for (const [file, lines] of files) {
      const installed = read(file).split('\n');
      let at = 0;
      for (const line of lines) {
        at = installed.indexOf(line, at);
        expect(at, `${file}: ${line}`).toBeGreaterThanOrEqual(0);
      }
    }
  });
});
