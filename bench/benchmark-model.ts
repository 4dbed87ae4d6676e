import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';
import { modelsPython, type Log } from './python-env.ts';

export const BENCH_MODEL_DIR = join(REPO_ROOT, 'bench', 'models', 'mobilenetv2-224');
export const BENCH_MODEL_INT8_DIR = `${BENCH_MODEL_DIR}-int8`;

/**
 * The 224×224 benchmark model and its INT8 variant are generated, not committed: exported from torchvision's
 * MobileNetV2 (random weights) with Debian's torch, quantized with onnxruntime (bench/python-env.ts sets both up).
 */
export function ensureBenchmarkModels(log: Log): { fp32: string; int8: string } {
  if (!existsSync(join(BENCH_MODEL_DIR, 'manifest.json')) || !existsSync(join(BENCH_MODEL_INT8_DIR, 'manifest.json'))) {
    const python = modelsPython(log);
    log('exporting MobileNetV2 224×224 to ONNX, FP32 and INT8');
    const r = spawnSync(python, ['models/benchmark/export_mobilenet.py', '--int8', '--out', join(BENCH_MODEL_DIR, 'model.onnx')], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`models/benchmark/export_mobilenet.py failed (exit ${r.status ?? r.signal})`);
  }
  return { fp32: BENCH_MODEL_DIR, int8: BENCH_MODEL_INT8_DIR };
}
