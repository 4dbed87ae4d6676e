/**
 * Everything a parity check of a third-party model needs, cached:
 *   npx tsx models/third-party/prepare.ts NAME [DIR] [--count 200]
 * fetches the pinned wheel and its ONNX file, builds the authors' venv, renders COUNT sample images into DIR
 * (default data/samples/NAME) and scores them with the authors' own preprocessing and inference into
 * DIR/../NAME.expected.jsonl. Prints the ONNX file, the labels file, the samples and the expected outputs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findModel, readCatalog, THIRD_PARTY_DIR, type ThirdPartyModel } from './catalog.ts';
import { fetchThirdPartyModel, type FetchedModel } from './fetch.ts';
import { authorsOutputs, renderSamples, thirdPartyPython } from './python.ts';

export interface PreparedModel extends FetchedModel {
  samples: string;
  expected: string;
}

export function prepareThirdParty(model: ThirdPartyModel, samplesDir: string, count: number, log: (line: string) => void = () => {}): PreparedModel {
  const fetched = fetchThirdPartyModel(model, undefined, log);
  const python = thirdPartyPython([fetched], log);
  const samples = resolve(samplesDir);
  const expected = `${samples}.expected.jsonl`;
  // Rendered again when the count or the generator changes.
  const generator = createHash('sha256').update(readFileSync(join(THIRD_PARTY_DIR, 'reference.py'))).digest('hex').slice(0, 12);
  const stamp = join(samples, `.rendered-${count}-${generator}`);
  if (!existsSync(stamp)) {
    rmSync(samples, { recursive: true, force: true });
    mkdirSync(samples, { recursive: true });
    renderSamples(python, model.name, samples, count);
    writeFileSync(stamp, '');
  }
  authorsOutputs(python, fetched, samples, expected);
  return { ...fetched, samples, expected };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { count: { type: 'string', default: '200' }, help: { type: 'boolean', short: 'h' } } });
  const usage = 'usage: npx tsx models/third-party/prepare.ts NAME [SAMPLES_DIR] [--count 200]\nexample: npx tsx models/third-party/prepare.ts text-orientation data/samples/text-orientation';
  const count = Number(values.count);
  if (values.help || positionals.length < 1 || positionals.length > 2 || !Number.isInteger(count) || count < 1) {
    process.stdout.write(`${usage}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const name = positionals[0]!;
  const p = prepareThirdParty(findModel(readCatalog(), name), positionals[1] ?? join('data', 'samples', name), count, (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(`onnx ${p.onnx}\nlabels ${p.labels}\nsamples ${p.samples}\nexpected ${p.expected}\n`);
}
