/**
 * models/third-party/fetch.ts with a wheel already in the cache (no registry needed): the ONNX file is taken out
 * of the wheel and checked against the catalog's sha256, and a wrong one is refused.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findModel, readCatalog, requirementOf, type ThirdPartyModel } from '../../../models/third-party/catalog.ts';
import { fetchThirdPartyModel } from '../../../models/third-party/fetch.ts';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ONNX = Buffer.from('pretend these are ONNX bytes');
let cache: string;
let model: ThirdPartyModel;

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'third-party-'));
  const dir = join(cache, 'tiny-pkg-1.0');
  mkdirSync(dir);
  const wheel = join(dir, 'tiny_pkg-1.0-py3-none-any.whl');
  const made = spawnSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").writestr("tiny_pkg/models/m.onnx", sys.argv[2])', wheel, ONNX.toString()]);
  expect(made.status).toBe(0);
  model = {
    name: 'tiny', description: 'test', package: 'tiny-pkg', version: '1.0', wheel: 'tiny_pkg-1.0-py3-none-any.whl',
    wheel_sha256: sha256(readFileSync(wheel)), member: 'tiny_pkg/models/m.onnx', sha256: sha256(ONNX),
    licence: 'MIT', homepage: 'https://example.invalid', labels: ['a', 'b'],
  };
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

describe('fetchThirdPartyModel from a cached wheel', () => {
  it('extracts the ONNX file and checks its sha256', () => {
    const fetched = fetchThirdPartyModel(model, cache);
    expect(fetched.onnx).toBe(join(cache, 'tiny-pkg-1.0', 'm.onnx'));
    expect(readFileSync(fetched.onnx)).toEqual(ONNX);
    expect(readFileSync(fetched.labels, 'utf8')).toBe('a\nb\n');
  });

  it('refuses a member whose sha256 is not the catalog\'s, and leaves no file behind', async () => {
    const other = { ...model, sha256: '0'.repeat(64), version: '1.0' };
    await rm(join(cache, 'tiny-pkg-1.0', 'm.onnx'));
    expect(() => fetchThirdPartyModel(other, cache)).toThrow(new RegExp(`tiny_pkg/models/m.onnx in .*: sha256 ${sha256(ONNX)}, the catalog pins 0{64}`));
    expect(existsSync(join(cache, 'tiny-pkg-1.0', 'm.onnx'))).toBe(false);
  });
});

describe('the catalog', () => {
  it('pins every model by wheel and file sha256, with a licence and labels', () => {
    const catalog = readCatalog();
    expect(catalog.map((m) => m.name)).toEqual(['text-orientation', 'text-direction']);
    for (const m of catalog) {
      expect(m.wheel_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.licence).toBe('Apache-2.0');
      expect(m.wheel.startsWith(`${m.package.replace(/-/g, '_')}-${m.version}-`)).toBe(true);
    }
    expect(requirementOf(findModel(catalog, 'text-direction'))).toBe('rapidocr-onnxruntime==1.4.4');
    expect(() => findModel(catalog, 'nope')).toThrow(/no third-party model "nope"; known: text-orientation, text-direction/);
  });
});
