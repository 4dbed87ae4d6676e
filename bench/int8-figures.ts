/**
 * The INT8 figures of the full bench (bench/run.ts, not the gate): Fashion-MNIST v2 against v2-int8 (test accuracy
 * from the manifests, model-only throughput) and MobileNetV2-224 FP32 against INT8, model alone and through the
 * pipeline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';
import { modelOnlyThroughput } from './bounds.ts';
import { PrefilledTopic } from './consumer-runs.ts';
import { loadBenchModel } from './in-process.ts';
import { round3 } from './rounding.ts';

export interface Int8Options {
  batch: number;
  /** Seconds of each model-only measurement. */
  boundSeconds: number;
  /** Images through the pipeline per MobileNetV2 run. */
  photoImages: number;
  log: (line: string) => void;
}

const manifestAccuracy = (dir: string): number =>
  (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { metrics: { test_accuracy: number } }).metrics.test_accuracy;

/** FP32 and INT8 measured side by side (adjacent in time, so a machine getting busier favours neither). */
export async function int8Figures(mobilenet: { fp32: string; int8: string }, photoUris: string[], o: Int8Options) {
  const v2 = join(REPO_ROOT, 'models/fashion-mnist/v2');
  const v2int8 = join(REPO_ROOT, 'models/fashion-mnist/v2-int8');
  const modelOnly = async (dir: string) => {
    const m = await loadBenchModel(dir);
    try {
      return await modelOnlyThroughput(m, o.batch, o.boundSeconds);
    } finally {
      await m.session.release();
    }
  };
  const pipeline = async (dir: string, version: string) => {
    const topic = await PrefilledTopic.create(version, photoUris, o.photoImages);
    try {
      return (await topic.runOurs(`ours-${version}`, { modelDir: dir, batch: o.batch, delivery: 'at-least-once' })).ips;
    } finally {
      await topic.close();
    }
  };
  const v2Ips = await modelOnly(v2);
  const v2int8Ips = await modelOnly(v2int8);
  const mobilenetFp32 = await modelOnly(mobilenet.fp32);
  const mobilenetInt8 = await modelOnly(mobilenet.int8);
  const pipelineFp32 = await pipeline(mobilenet.fp32, 'bench');
  const pipelineInt8 = await pipeline(mobilenet.int8, 'bench-int8');
  const figures = {
    fashion_v2_test_accuracy: manifestAccuracy(v2),
    fashion_v2_int8_test_accuracy: manifestAccuracy(v2int8),
    fashion_v2_int8_accuracy_delta_points: round3((manifestAccuracy(v2int8) - manifestAccuracy(v2)) * 100),
    fashion_v2_model_only_ips: v2Ips,
    fashion_v2_int8_model_only_ips: v2int8Ips,
    mobilenet_fp32_model_only_ips: mobilenetFp32,
    mobilenet_int8_model_only_ips: mobilenetInt8,
    mobilenet_int8_over_fp32_model_only: round3(mobilenetInt8 / mobilenetFp32),
    mobilenet_fp32_pipeline_ips: pipelineFp32,
    mobilenet_int8_pipeline_ips: pipelineInt8,
    mobilenet_int8_over_fp32_pipeline: round3(pipelineInt8 / pipelineFp32),
  };
  o.log(`  INT8: MobileNetV2 model alone ${figures.mobilenet_int8_over_fp32_model_only}× FP32, pipeline ${figures.mobilenet_int8_over_fp32_pipeline}×; ` +
    `v2-int8 accuracy ${figures.fashion_v2_int8_accuracy_delta_points} points from v2`);
  return figures;
}
