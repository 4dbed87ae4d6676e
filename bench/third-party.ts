/**
 * The third-party classifiers (models/third-party/catalog.json) as bench entries: the pinned ONNX file, its 200
 * rendered sample images and the authors' outputs for them (models/third-party/prepare.ts), imported with the
 * authors' preprocessing into bench/models/<name>/ (not committed), and the Python reference consumer checked
 * against the authors' outputs before it is timed: a reference that preprocessed differently would make the
 * ratio meaningless.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseModelArgs, type ImportCommand } from '../models/import/args.ts';
import { importModel } from '../models/import/import-model.ts';
import { findModel, readCatalog } from '../models/third-party/catalog.ts';
import { prepareThirdParty } from '../models/third-party/prepare.ts';
import { createLogger } from '../platform/logger.ts';
import { REPO_ROOT } from '../stack/pipeline-harness.ts';
import type { Log } from './python-env.ts';
import { referenceParity, type ReferenceParity } from './reference-parity.ts';

/** The version the bench serves them under (its own topic prefix keeps it apart from any other). */
export const THIRD_PARTY_VERSION = 'bench';
const SAMPLES = 200;

/**
 * The authors' preprocessing in import flags (models/third-party/README.md says where each comes from), and the
 * library they resample with, which the reference consumer then uses too.
 */
const ENTRIES = [
  { name: 'text-orientation', flags: ['--preset', 'imagenet', '--kernel', 'lanczos3', '--channel-order', 'BGR'] },
  { name: 'text-direction', flags: ['--preset', 'stretch', '--width', '192', '--height', '48', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--channel-order', 'BGR'] },
] as const;
export const THIRD_PARTY_RESIZE_WITH = 'opencv';

export interface ThirdPartyEntry {
  name: string;
  modelDir: string;
  /** file:// URIs of the sample images. */
  uris: string[];
  reference_parity: ReferenceParity;
}

export async function prepareThirdPartyBench(python: string, log: Log): Promise<ThirdPartyEntry[]> {
  const catalog = readCatalog();
  const entries: ThirdPartyEntry[] = [];
  for (const e of ENTRIES) {
    const prepared = prepareThirdParty(findModel(catalog, e.name), join(REPO_ROOT, 'data', 'samples', e.name), SAMPLES, log);
    const modelDir = join(REPO_ROOT, 'bench', 'models', e.name);
    const cmd = parseModelArgs([
      'import', prepared.onnx, '--name', e.name, '--version', THIRD_PARTY_VERSION, ...e.flags, '--labels', prepared.labels,
      '--source', `PyPI ${prepared.model.package} ${prepared.model.version} (${prepared.model.member})`, '--licence', prepared.model.licence,
      '--out', modelDir, '--force',
    ]) as ImportCommand;
    const { manifest } = await importModel(cmd, {
      say: () => undefined,
      logger: createLogger('bench', 'warn', true),
      s3: () => {
        throw new Error('the bench imports from local files only');
      },
    });

    const out = join(REPO_ROOT, '.state', 'bench', `${e.name}.reference.jsonl`);
    mkdirSync(join(REPO_ROOT, '.state', 'bench'), { recursive: true });
    const r = spawnSync(python, ['bench/reference/score.py', '--model', modelDir, '--resize-with', THIRD_PARTY_RESIZE_WITH, '--images', prepared.samples, '--out', out], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`bench/reference/score.py for ${e.name} exited with ${r.status ?? r.signal}`);
    const parity = referenceParity(readFileSync(prepared.expected, 'utf8'), readFileSync(out, 'utf8'), manifest.labels);
    log(`  ${e.name}: the Python reference agrees with the authors' pipeline on ${parity.agreed}/${parity.compared} top-1, largest top-1 score difference ${parity.max_top1_score_diff.toExponential(2)}`);
    if (!parity.passed) throw new Error(`the Python reference is not faithful to ${e.name}'s authors (${out} against ${prepared.expected}): ${parity.agreed}/${parity.compared} top-1, score difference up to ${parity.max_top1_score_diff} (${parity.worst_image})`);
    const files = readdirSync(prepared.samples).filter((f) => f.endsWith('.png')).sort();
    entries.push({ name: e.name, modelDir, uris: files.map((f) => pathToFileURL(join(prepared.samples, f)).href), reference_parity: parity });
  }
  return entries;
}
