/**
 * Which dependency install scripts `npm ci` runs. onnxruntime-node's downloads CUDA binaries from api.nuget.org on
 * linux x64 (on a fresh clone without the .npmrc line, `npm ci` failed on that download): package.json's
 * allowScripts denies it, so the skip no longer rests on an npm config that npm says it does not know.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../stack/paths.ts';

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Record<string, unknown>;
const pkg = readJson('package.json') as { allowScripts?: Record<string, boolean> };
const lock = readJson('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };

describe('install scripts', () => {
  it('denies onnxruntime-node\'s, so npm ci never downloads CUDA', () => {
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
  });

  it('decides on every locked package that has one, so npm neither guesses nor warns', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean')).toEqual([]);
  });

  describe('onnxruntime-node\'s installer, which Dockerfile.cuda runs directly', () => {
    const saved = process.env.ONNXRUNTIME_NODE_INSTALL;
    afterEach(() => {
      if (saved === undefined) delete process.env.ONNXRUNTIME_NODE_INSTALL;
      else process.env.ONNXRUNTIME_NODE_INSTALL = saved;
    });

    it('forces the CUDA 12 download on linux x64 with ONNXRUNTIME_NODE_INSTALL=true', () => {
      const require = createRequire(join(REPO_ROOT, 'package.json'));
      const { parseInstallFlag } = require('onnxruntime-node/script/install-utils.js') as { parseInstallFlag: () => unknown };
      const metadata = require('onnxruntime-node/script/install-metadata.js') as { requirements: Record<string, string[]> };
      process.env.ONNXRUNTIME_NODE_INSTALL = 'true';
      expect(parseInstallFlag()).toBe(true);
      expect(metadata.requirements['linux/x64']).toEqual(['cuda12']);
      process.env.ONNXRUNTIME_NODE_INSTALL = 'skip';
      expect(parseInstallFlag()).toBe(false);
    });
  });
});
