import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../gateway/http/http-error.ts';
import { readBytesElements } from '../../../gateway/protocol/binary-tensor.ts';
import { buildInferResponse, servedPart, type ResponseContext, type ServedPrediction } from '../../../gateway/protocol/infer-response.ts';
import { OUTPUT_NAMES } from '../../../gateway/protocol/tensors.ts';

function prediction(requestId: string, version: string, top: [number, string, number][]): ServedPrediction {
  return {
    request_id: requestId,
    model_name: 'fashion-mnist',
    model_version: version,
    experiment_id: 'ab',
    predicted_label: top[0]![1],
    top_k: top.map(([index, label, score]) => ({ index, label, score })),
  };
}

const A = prediction('r.0', 'v1', [[9, 'Ankle boot', 0.75], [7, 'Sneaker', 0.25], [5, 'Sandal', 0]]);
const B = prediction('r.1', 'v2', [[1, 'Trouser', 0.5], [3, 'Dress', 0.375], [0, 'T-shirt/top', 0.125]]);

const ctx = (binary: boolean, over: Partial<ResponseContext> = {}): ResponseContext => ({
  modelName: 'fashion-mnist', pinnedVersion: null, id: 'client-7', inferenceId: 'r',
  outputs: OUTPUT_NAMES.map((name) => ({ name, binary })), ...over,
});

describe('inference response', () => {
  it('in JSON: label [N], top-k labels, scores (FP32) and class indices (INT32) [N, k], ids and versions', () => {
    const { body, headers } = buildInferResponse([A, B], ctx(false));
    expect(headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(body.toString())).toEqual({
      model_name: 'fashion-mnist',
      model_version: 'v1,v2',
      id: 'client-7',
      parameters: { request_id: 'r', experiment_id: 'ab', model_versions: 'v1,v2' },
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [2], data: ['Ankle boot', 'Trouser'] },
        { name: 'top_labels', datatype: 'BYTES', shape: [2, 3], data: ['Ankle boot', 'Sneaker', 'Sandal', 'Trouser', 'Dress', 'T-shirt/top'] },
        { name: 'top_scores', datatype: 'FP32', shape: [2, 3], data: [0.75, 0.25, 0, 0.5, 0.375, 0.125] },
        { name: 'top_classes', datatype: 'INT32', shape: [2, 3], data: [9, 7, 5, 1, 3, 0] },
      ],
    });
  });

  it('as binary data: a JSON header whose length is in Inference-Header-Content-Length, then each tensor little-endian', () => {
    const { body, headers } = buildInferResponse([A], ctx(true));
    const jsonLength = Number(headers['inference-header-content-length']);
    expect(headers['content-type']).toBe('application/octet-stream');
    const header = JSON.parse(body.subarray(0, jsonLength).toString());
    expect(header.model_version).toBe('v1');
    expect(header.parameters).toEqual({ request_id: 'r', experiment_id: 'ab' });
    let offset = jsonLength;
    const tensors: Record<string, Buffer> = {};
    for (const o of header.outputs) {
      expect(o.data).toBeUndefined();
      tensors[o.name] = body.subarray(offset, offset + o.parameters.binary_data_size);
      offset += o.parameters.binary_data_size;
    }
    expect(offset).toBe(body.length);
    expect(readBytesElements(tensors.label!, 1, 'label').map(String)).toEqual(['Ankle boot']);
    expect(readBytesElements(tensors.top_labels!, 3, 'top_labels').map(String)).toEqual(['Ankle boot', 'Sneaker', 'Sandal']);
    expect([0, 1, 2].map((i) => tensors.top_scores!.readFloatLE(i * 4))).toEqual([0.75, 0.25, 0]);
    expect([0, 1, 2].map((i) => tensors.top_classes!.readInt32LE(i * 4))).toEqual([9, 7, 5]);
  });

  it('mixes JSON and binary outputs and gives only those asked for', () => {
    const { body, headers } = buildInferResponse([A], ctx(false, { outputs: [{ name: 'top_classes', binary: true }, { name: 'label', binary: false }] }));
    const header = JSON.parse(body.subarray(0, Number(headers['inference-header-content-length'])).toString());
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(['top_classes', 'label']);
    expect(header.outputs[1].data).toEqual(['Ankle boot']);
    expect(body.length - Number(headers['inference-header-content-length'])).toBe(12);
  });

  it('cuts top-k to the shortest list so the tensor stays rectangular', () => {
    const short = prediction('r.1', 'v2', [[1, 'Trouser', 0.5], [3, 'Dress', 0.5]]);
    const out = JSON.parse(buildInferResponse([A, short], ctx(false)).body.toString()).outputs;
    expect(out[2].shape).toEqual([2, 2]);
    expect(out[2].data).toEqual([0.75, 0.25, 0.5, 0.5]);
  });

  it('answers 409 when a pinned version was not the one that served, or another model did', () => {
    const pinned = () => buildInferResponse([A], ctx(false, { pinnedVersion: 'v2' }));
    expect(pinned).toThrow(HttpError);
    expect(pinned).toThrow(/version v2 was asked for but request r.0 was served by v1/);
    expect(() => buildInferResponse([A], ctx(false, { pinnedVersion: 'v1' }))).not.toThrow();
    expect(() => buildInferResponse([A], ctx(false, { modelName: 'mnist' }))).toThrow(/served by model fashion-mnist v1, not mnist/);
  });
});

describe('what a tracked request keeps of its prediction', () => {
  it('is only what the answer reads: the same answer, without the stickiness key, timings and input statistics', () => {
    const full = { ...A, shadow: false, stickiness_key: 'k'.repeat(256), consumer_id: 'c-1', timings: { total_ms: 5 }, input_stats: { width: 28 }, top_k: A.top_k.map((e) => ({ ...e, extra: 'x' })) };
    const kept = servedPart(full);
    expect(Object.keys(kept).sort()).toEqual(['experiment_id', 'model_name', 'model_version', 'predicted_label', 'request_id', 'top_k']);
    expect(kept.top_k.every((e) => Object.keys(e).length === 3)).toBe(true);
    expect(buildInferResponse([kept], ctx(false)).body.equals(buildInferResponse([A], ctx(false)).body)).toBe(true);
  });
});
