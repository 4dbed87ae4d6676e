/**
 * The import: inspect the ONNX file, settle the manifest, copy the model next to it, then (through the serving
 * loader and preprocessing) compute the drift reference from samples and check parity, and upload if asked.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { parseS3Prefix } from '../../platform/s3-uri.ts';
import { loadModel } from '../loader/load-model.ts';
import { MANIFEST_FILE } from '../loader/model-location.ts';
import { validateManifest } from '../loader/validate-manifest.ts';
import type { ModelManifest } from '../manifest.ts';
import { defaultSessionConfig } from '../runtime/session.ts';
import type { ImportCommand } from './args.ts';
import { buildManifest, MODEL_FILE, type ImportedModel } from './build-manifest.ts';
import { proposeInput, proposeOutput } from './inspect.ts';
import { openOnnxFile, probeOutput } from './onnx-file.ts';
import { compareParity, formatParity, parseExpected, type ParityReport } from './parity.ts';
import { buildReference } from './reference.ts';
import { folderSamples, s3Samples, type SampleSource } from './samples.ts';
import { scoreThroughServing } from './serve-path.ts';
import { buildInputSpec, buildOutputSpec, guessOutputKind, ImportUsageError, metadataLabels, parseLabels } from './spec.ts';

export interface ImportDeps {
  /** One line of the command's report. */
  say: (line: string) => void;
  logger: Logger;
  /** Made only when samples, parity or an upload need the object store. */
  s3: () => S3Client;
}

export interface ImportResult {
  dir: string;
  manifest: ModelManifest;
  parity?: ParityReport;
  uploaded?: string;
}

export async function importModel(cmd: ImportCommand, deps: ImportDeps): Promise<ImportResult> {
  const { say } = deps;
  const dir = resolve(cmd.out);
  if (existsSync(join(dir, MANIFEST_FILE)) && !cmd.force) {
    throw new ImportUsageError(`${join(dir, MANIFEST_FILE)} exists: choose another --version or --out, or --force to replace it`);
  }
  const file = await openOnnxFile(cmd.model);
  let manifest: ModelManifest;
  try {
    say(`${cmd.model}: ${file.io.inputs.length} input(s) ${file.io.inputs.map((t) => `${t.name} ${t.type} [${t.shape.join(', ')}]`).join('; ')}; output(s) ${file.io.outputs.map((t) => `${t.name} ${t.type} [${t.shape.join(', ')}]`).join('; ')}`);
    const proposedInput = proposeInput(file.io, { input: cmd.input, layout: cmd.layout });
    const proposedOutput = proposeOutput(file.io, { output: cmd.output });
    const input = buildInputSpec(proposedInput, cmd.choices);
    let kind = cmd.outputKind;
    if (kind === undefined) {
      const rows = await probeOutput(file.session, input, proposedOutput.name);
      kind = rows ? guessOutputKind(rows) : 'logits';
      say(`output kind ${kind}: ${rows ? (kind === 'probabilities' ? 'probe rows are non-negative and sum to 1' : 'probe rows are not probabilities') : 'not float32, assumed'} (--output-kind to change)`);
    }
    const output = buildOutputSpec(proposedOutput, kind);
    let labels: string[];
    if (cmd.labels) labels = parseLabels(await readFile(cmd.labels, 'utf8'), output.num_classes, cmd.labels);
    else {
      const fromMetadata = metadataLabels(file.facts.metadata, output.num_classes);
      labels = fromMetadata ?? Array.from({ length: output.num_classes }, (_, i) => String(i));
      say(fromMetadata ? `labels from the ONNX metadata: ${labels.join(', ')}` : `no --labels: classes are named by index 0..${output.num_classes - 1}`);
    }
    const imported: ImportedModel = {
      name: cmd.name,
      version: cmd.version,
      description: cmd.description ?? `${cmd.name} ${cmd.version}, imported from ${cmd.source}`,
      architecture: cmd.architecture ?? 'imported ONNX model',
      sha256: file.sha256,
      facts: file.facts,
      input,
      output,
      labels,
      source: cmd.source,
      licence: cmd.licence,
      ...(cmd.notes ? { notes: cmd.notes } : {}),
      importedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    manifest = buildManifest(imported);
    say(`input spec: ${JSON.stringify(input)}`);
    say(`output spec: ${JSON.stringify(output)}`);
    validateManifest(manifest, `the manifest for ${cmd.name}/${cmd.version}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, MODEL_FILE), file.bytes);
    await writeManifest(dir, manifest);
  } finally {
    await file.session.release();
  }

  let parity: ParityReport | undefined;
  if (cmd.samples) {
    const samples = await openSamples(cmd.samples, deps);
    if (samples.ids.length === 0) throw new ImportUsageError(`--samples ${cmd.samples}: no images there`);
    const loaded = await loadModel(dir, { session: defaultSessionConfig, logger: deps.logger });
    try {
      const started = performance.now();
      const scores = await scoreThroughServing(loaded, samples, { batchSize: cmd.batchSize, maxPixels: cmd.maxPixels });
      const seconds = (performance.now() - started) / 1000;
      for (const f of scores.failed.slice(0, 5)) say(`  ${f.image}: serving would dead-letter it: ${f.error}`);
      if (scores.served.length === 0) throw new ImportUsageError(`--samples ${cmd.samples}: none of the ${samples.ids.length} files could be served`);
      const reference = buildReference(scores.served, manifest.output.num_classes, `samples: ${samples.where}, ${scores.served.length} images, scored through the serving preprocessing and model`);
      manifest = { ...manifest, reference };
      await writeManifest(dir, manifest);
      say(`reference from ${scores.served.length} sample images (${scores.failed.length} not servable): predicted-class shares ${reference.predicted_class.probabilities.map((p) => p.toFixed(3)).join(' ')}`);
      say(`served ${samples.ids.length} samples in ${seconds.toFixed(2)} s, read, preprocessing and model in batches of ${cmd.batchSize} (${(samples.ids.length / seconds).toFixed(1)} images/s)`);
      if (cmd.parity) {
        const expected = parseExpected(await readFile(cmd.parity, 'utf8'), cmd.parity);
        const served = new Map(scores.served.map((s) => [s.image, s]));
        // A parity file may name images by file name alone.
        for (const s of scores.served) if (!served.has(baseName(s.image))) served.set(baseName(s.image), s);
        parity = compareParity(expected, served, manifest.labels, cmd);
        for (const line of formatParity(parity, cmd)) say(line);
      }
    } finally {
      await loaded.session.release();
    }
  } else {
    say('no --samples: the manifest has no drift reference; the drift monitor learns one from the first live predictions and says so in its reports and dashboard');
  }
  say(`wrote ${join(dir, MODEL_FILE)} and ${join(dir, MANIFEST_FILE)} (sha256 ${manifest.sha256})`);

  let uploaded: string | undefined;
  if (cmd.upload) {
    if (parity && !parity.passed) say(`not uploaded to ${cmd.upload}: parity failed`);
    else uploaded = await upload(deps.s3(), cmd.upload, dir, say);
  }
  return { dir, manifest, ...(parity ? { parity } : {}), ...(uploaded ? { uploaded } : {}) };
}

const baseName = (id: string): string => id.split('/').at(-1)!;

async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  const path = join(dir, MANIFEST_FILE);
  await writeFile(`${path}.part`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${path}.part`, path);
}

function openSamples(where: string, deps: ImportDeps): Promise<SampleSource> {
  return /^s3:\/\//i.test(where) ? s3Samples(deps.s3(), where) : folderSamples(where);
}

async function upload(s3: S3Client, uri: string, dir: string, say: (line: string) => void): Promise<string> {
  const { bucket, prefix } = parseS3Prefix(uri, 'inference');
  const base = prefix.replace(/\/+$/, '');
  // The model first: a reader that finds the manifest finds its model too.
  for (const name of [MODEL_FILE, MANIFEST_FILE]) {
    const key = base === '' ? name : `${base}/${name}`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(join(dir, name)) }));
    say(`uploaded s3://${bucket}/${key}`);
  }
  return `s3://${bucket}/${base}`;
}
