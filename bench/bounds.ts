/**
 * The two ceilings of one consumer process on this machine, measured apart: the model alone (one ONNX Runtime
 * call per batch on a ready tensor) and decoding alone (our preprocessing of in-memory image bytes, no Kafka,
 * no file reads). Both use the same CPU in the pipeline, so together they bound it at 1 / (1/model + 1/decode).
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runBatch } from '../models/runtime/run-batch.ts';
import { allocateBatch, slotOffset } from '../models/runtime/preprocess/batch-tensor.ts';
import { normaliseInto } from '../models/runtime/preprocess/normalise.ts';
import { decodeWithSharp, preprocessInto } from '../models/runtime/preprocess/preprocess-image.ts';
import type { LoadedModel } from '../models/loader/load-model.ts';
import { mapWithConcurrency } from '../platform/concurrency.ts';

/** The consumer's default: images decoded at once per batch (FETCH_CONCURRENCY). */
const DECODE_CONCURRENCY = 16;

/** Images per second through the model alone, batches of `batch`, for at least `seconds`. */
export async function modelOnlyThroughput(model: LoadedModel, batch: number, seconds: number): Promise<number> {
  const tensor = allocateBatch(model.manifest.input, batch);
  for (let i = 0; i < tensor.data.length; i++) tensor.data[i] = Math.sin(i); // not all zeros: no shortcut anywhere
  await runBatch(model.session, model.manifest, tensor, batch); // warm-up: allocation, kernel selection
  let images = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await runBatch(model.session, model.manifest, tensor, batch);
    images += batch;
  }
  return images / ((performance.now() - started) / 1000);
}

export async function readImages(uris: string[]): Promise<Buffer[]> {
  return Promise.all(uris.map((u) => readFile(fileURLToPath(u))));
}

export type Decoder = 'ours' | 'sharp-only';

/**
 * Images per second through preprocessing alone: batches of `batch` decoded as the consumer does. 'sharp-only'
 * sends every image through sharp (no PNG fast path), to show what the fast path buys in the same run.
 */
export async function decodeOnlyThroughput(model: LoadedModel, images: Buffer[], batch: number, decoder: Decoder = 'ours', rounds = 2): Promise<number> {
  const spec = model.manifest.input;
  const tensor = allocateBatch(spec, batch);
  const limits = { maxPixels: 25_000_000 };
  const decode = decoder === 'ours'
    ? (bytes: Buffer, slot: number) => preprocessInto(bytes, spec, tensor, slot, limits)
    : async (bytes: Buffer, slot: number) => normaliseInto(await decodeWithSharp(bytes, spec, limits.maxPixels), spec, tensor.data, slotOffset(tensor, slot));
  const pass = async () => {
    for (let from = 0; from < images.length; from += batch) {
      const chunk = images.slice(from, from + batch);
      await mapWithConcurrency(chunk.map((bytes, slot) => ({ bytes, slot })), DECODE_CONCURRENCY, ({ bytes, slot }) => decode(bytes, slot));
    }
  };
  await pass(); // warm-up
  const started = performance.now();
  for (let r = 0; r < rounds; r++) await pass();
  return (rounds * images.length) / ((performance.now() - started) / 1000);
}

/** Throughput the pipeline could reach if decoding and the model shared the CPU perfectly. */
export const combinedBound = (model: number, decode: number): number => 1 / (1 / model + 1 / decode);
