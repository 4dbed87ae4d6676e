/**
 * Pure: predictions to an Open Inference Protocol inference response, in JSON or, for outputs asked for with
 * `binary_data`, as binary data after the JSON header (the binary tensor data extension).
 *
 * Outputs for N images with top-k: `label` BYTES [N], `top_labels` BYTES [N, k], `top_scores` FP32 [N, k]
 * (descending), `top_classes` INT32 [N, k] (class indices). `model_version` is the version that served;
 * parameters carry the pipeline's `request_id` and the `experiment_id`, and for N > 1 the per-image
 * `model_versions` (an A/B split may serve the images of one request from different versions).
 */
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import { HttpError } from '../http/http-error.ts';
import { encodeBytesElements, encodeFloat32, encodeInt32 } from './binary-tensor.ts';
import type { RequestedOutput } from './infer-request.ts';
import { OUTPUT_TENSORS, type OutputName } from './tensors.ts';

export type ServedPrediction = Pick<Prediction, 'request_id' | 'model_name' | 'model_version' | 'experiment_id' | 'predicted_label' | 'top_k'>;

/**
 * What a tracked request keeps of its prediction until the answer is sent or collected: a decoded Prediction
 * also carries timings, input statistics and the stickiness key, about ten times what the answer reads.
 */
export function servedPart(p: ServedPrediction): ServedPrediction {
  return {
    request_id: p.request_id, model_name: p.model_name, model_version: p.model_version, experiment_id: p.experiment_id,
    predicted_label: p.predicted_label, top_k: p.top_k.map((e) => ({ index: e.index, label: e.label, score: e.score })),
  };
}

export interface ResponseContext {
  modelName: string;
  /** The version the path pinned, if any. */
  pinnedVersion: string | null;
  /** The client's id if it sent one, else the gateway's. */
  id: string;
  inferenceId: string;
  outputs: RequestedOutput[];
}

export interface EncodedResponse {
  body: Buffer;
  headers: Record<string, string>;
}

/**
 * A prediction from another model or, for a pinned path, another version means the experiment did not honour
 * the request (its rule does not allow pins): answered as a conflict rather than passed off as what was asked.
 */
export function checkServed(predictions: readonly ServedPrediction[], ctx: Pick<ResponseContext, 'modelName' | 'pinnedVersion' | 'inferenceId'>): void {
  for (const p of predictions) {
    if (p.model_name !== ctx.modelName) {
      throw new HttpError(409, `request ${p.request_id} was served by model ${p.model_name} ${p.model_version}, not ${ctx.modelName}: the active experiment routes this request to another model`, { fields: { id: ctx.inferenceId } });
    }
    if (ctx.pinnedVersion !== null && p.model_version !== ctx.pinnedVersion) {
      throw new HttpError(409, `version ${ctx.pinnedVersion} was asked for but request ${p.request_id} was served by ${p.model_version}: the router did not honour the pin (the matching experiment rule does not set allow_pinned, or no experiment is published); call /v2/models/${ctx.modelName}/infer to take the experiment's choice`, { fields: { id: ctx.inferenceId } });
    }
  }
}

type Column = { kind: 'BYTES'; values: string[] } | { kind: 'FP32' | 'INT32'; values: number[] };

function column(name: OutputName, predictions: readonly ServedPrediction[], k: number): Column {
  const top = (pick: (e: Prediction['top_k'][number]) => number | string) => predictions.flatMap((p) => p.top_k.slice(0, k).map(pick));
  switch (name) {
    case 'label': return { kind: 'BYTES', values: predictions.map((p) => p.predicted_label) };
    case 'top_labels': return { kind: 'BYTES', values: top((e) => e.label) as string[] };
    case 'top_scores': return { kind: 'FP32', values: top((e) => e.score) as number[] };
    case 'top_classes': return { kind: 'INT32', values: top((e) => e.index) as number[] };
  }
}

function binaryOf(c: Column): Buffer {
  if (c.kind === 'BYTES') return encodeBytesElements(c.values);
  return c.kind === 'FP32' ? encodeFloat32(c.values) : encodeInt32(c.values);
}

export function buildInferResponse(predictions: readonly ServedPrediction[], ctx: ResponseContext): EncodedResponse {
  checkServed(predictions, ctx);
  // One k for the whole tensor: versions may be configured with different TOP_K.
  const k = Math.min(...predictions.map((p) => p.top_k.length));
  const n = predictions.length;
  const binaries: Buffer[] = [];
  const outputs = ctx.outputs.map(({ name, binary }) => {
    const meta = OUTPUT_TENSORS.find((o) => o.name === name)!;
    const c = column(name, predictions, k);
    const shape = meta.shape.length === 1 ? [n] : [n, k];
    if (!binary) return { name, datatype: meta.datatype, shape, data: c.values };
    const bytes = binaryOf(c);
    binaries.push(bytes);
    return { name, datatype: meta.datatype, shape, parameters: { binary_data_size: bytes.length } };
  });
  const versions = predictions.map((p) => p.model_version);
  const experiment = predictions.find((p) => p.experiment_id)?.experiment_id;
  const json = Buffer.from(JSON.stringify({
    model_name: ctx.modelName,
    model_version: [...new Set(versions)].join(','),
    id: ctx.id,
    parameters: {
      request_id: ctx.inferenceId,
      ...(experiment ? { experiment_id: experiment } : {}),
      ...(n > 1 ? { model_versions: versions.join(',') } : {}),
    },
    outputs,
  }));
  if (binaries.length === 0) return { body: json, headers: { 'content-type': 'application/json' } };
  return {
    body: Buffer.concat([json, ...binaries]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length) },
  };
}
