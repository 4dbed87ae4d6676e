/**
 * The Python environments the benchmark and the gateway's fuzz test need, as venvs under
 * ~/.cache/imgpipe/python/ (nothing system-wide but Debian packages), each reinstalled only when its
 * requirements file changes:
 * - reference: the Python reference consumer's pinned requirements (bench/reference/requirements.txt);
 * - models: ONNX export and quantization (models/training/requirements.txt) on top of Debian's python3-torch
 *   and python3-torchvision (a few hundred MB through apt, against gigabytes of CUDA wheels from PyPI);
 * - schemathesis: the gateway's fuzz run (test/e2e/gateway-fuzz.test.ts), from test/e2e/gateway-fuzz/requirements.txt.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';

const PYTHON_ROOT = join(homedir(), '.cache', 'imgpipe', 'python');
/** Debian's interpreter: the one python3-torch is built for (a pyenv or conda python3 first on PATH is not). */
const SYSTEM_PYTHON = '/usr/bin/python3';

export type Log = (line: string) => void;

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${what} failed: ${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

const works = (python: string, code: string) => spawnSync(python, ['-c', code], { stdio: 'ignore' }).status === 0;

/** Installs Debian packages when missing (as root, like scripts/ensure-system-packages.sh), else says what to run. */
function ensureDebianPackages(packages: string[], check: () => boolean, log: Log): void {
  if (check()) return;
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages for the benchmark: run '${command}' as root, then try again`);
  log(`installing Debian packages: ${packages.join(' ')}`);
  run('apt-get', ['update', '-qq'], 'apt-get update');
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], 'apt-get install');
  if (!check()) throw new Error(`${packages.join(', ')} installed but still not importable by ${SYSTEM_PYTHON}`);
}

function ensureVenv(name: string, requirements: string, systemSitePackages: boolean, log: Log): string {
  const dir = join(PYTHON_ROOT, name);
  const python = join(dir, 'bin', 'python');
  const file = join(REPO_ROOT, requirements);
  const stamp = join(dir, 'requirements.sha256');
  const digest = createHash('sha256').update(readFileSync(file)).update(String(systemSitePackages)).digest('hex');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest) return python;
  ensureDebianPackages(['python3-venv'], () => works(SYSTEM_PYTHON, 'import ensurepip, venv'), log);
  log(`creating the Python environment ${dir} from ${requirements} (once)`);
  run(SYSTEM_PYTHON, ['-m', 'venv', '--clear', ...(systemSitePackages ? ['--system-site-packages'] : []), dir], 'python venv');
  run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', file], `pip install -r ${requirements}`);
  writeFileSync(stamp, `${digest}\n`);
  return python;
}

/** The interpreter of the reference consumer's venv. */
export function referencePython(log: Log): string {
  return ensureVenv('reference', 'bench/reference/requirements.txt', false, log);
}

/** The interpreter for models/training and models/benchmark: Debian's torch plus the pinned ONNX packages. */
export function modelsPython(log: Log): string {
  ensureDebianPackages(['python3-torch', 'python3-torchvision'], () => works(SYSTEM_PYTHON, 'import torch, torchvision'), log);
  return ensureVenv('models', 'models/training/requirements.txt', true, log);
}

/** The schemathesis command of its venv, for the property-based fuzz run against the gateway. */
export function schemathesisCommand(log: Log): string {
  return join(dirname(ensureVenv('schemathesis', 'test/e2e/gateway-fuzz/requirements.txt', false, log)), 'schemathesis');
}
