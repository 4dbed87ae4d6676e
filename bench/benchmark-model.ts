import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';

export const BENCH_MODEL_DIR = join(REPO_ROOT, 'bench', 'models', 'mobilenetv2-224');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

/**
 * The 224×224 benchmark model is generated, not committed: exported from torchvision's MobileNetV2 (random
 * weights). Installs the pinned Python requirements first if torch is missing (a large download, once).
 */
export function ensureBenchmarkModel(log: (line: string) => void): string {
  if (existsSync(join(BENCH_MODEL_DIR, 'manifest.json'))) return BENCH_MODEL_DIR;
  const hasTorch = spawnSync('python3', ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
  if (!hasTorch) {
    log('installing the Python requirements for the model export (torch, torchvision, onnx; once, large download)');
    run('python3', ['-m', 'pip', 'install', '-q', '-r', 'models/training/requirements.txt']);
  }
  log('exporting MobileNetV2 224×224 to ONNX');
  run('python3', ['models/benchmark/export_mobilenet.py', '--out', join(BENCH_MODEL_DIR, 'model.onnx')]);
  return BENCH_MODEL_DIR;
}
