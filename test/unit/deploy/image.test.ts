/**
 * What CI can prove about the image without a Docker engine: the Dockerfiles read against the build
 * (tsconfig.build.json, scripts/build/dist-layout.ts), the services' imports, the package scripts,
 * docker-compose.yml, the Kubernetes manifests and the test runner's own service list.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { copies, entryPoints, env, execForm, instructions, parseDockerfile, type Stage } from '../../../deploy/checks/dockerfile.ts';
import { importGraph } from '../../../deploy/checks/import-graph.ts';
import { BUILD_TSCONFIG, compiledPath, DIST_DIR, RUNTIME_ASSETS } from '../../../scripts/build/dist-layout.ts';
import { SERVICE_ENTRIES } from '../../../stack/pipeline-services.ts';
import { REPO_ROOT } from '../../../stack/paths.ts';

const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');
const stages = parseDockerfile(read('Dockerfile'));
const stage = (name: string): Stage => stages.find((s) => s.name === name) ?? expect.fail(`Dockerfile has no stage ${name}`);
const runtime = stages[stages.length - 1]!;
const build = stage('build');
const entries = entryPoints(runtime);
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };

const buildConfig = ts.getParsedCommandLineOfConfigFile(join(REPO_ROOT, BUILD_TSCONFIG), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => expect.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
})!;
const compiled = new Set(buildConfig.fileNames.map((f) => relative(REPO_ROOT, f)));

/** The build stage's `COPY <path> <same path>` from the build context. */
const copiedIntoBuild = copies(build).filter((c) => c.from === undefined).flatMap((c) => c.sources);
const isCopied = (file: string): boolean => copiedIntoBuild.some((src) => file === src || file.startsWith(`${src}/`));

/** The source module of an entry point: `router/main.js` → `router/main.ts`. */
const sourceOf = (entry: string): string => entry.replace(/\.js$/, '.ts');

describe('the image (Dockerfile)', () => {
  it('names an entry point per service, each the compiled file of a package script\'s source', () => {
    expect(Object.keys(entries).sort()).toEqual(expect.arrayContaining(['drift-monitor', 'gateway', 'inference', 'rollouts', 'router']));
    for (const [name, entry] of Object.entries(entries)) {
      const source = sourceOf(entry);
      expect(pkg.scripts[name], `package script "${name}" for the entry point ${entry}`).toBe(`tsx ${source}`);
      expect(compiled.has(source), `${source} is compiled by ${BUILD_TSCONFIG}`).toBe(true);
      // tsc's own answer for where the module lands, against the entry point's path under dist/.
      const [emitted] = ts.getOutputFileNames(buildConfig, join(REPO_ROOT, source), false).filter((f) => f.endsWith('.js'));
      expect(relative(join(REPO_ROOT, DIST_DIR), emitted!)).toBe(entry);
      expect(compiledPath(source)).toBe(entry);
    }
  });

  it('runs the services the test runner starts, from the same sources', () => {
    for (const [kind, source] of Object.entries(SERVICE_ENTRIES)) expect(entries[kind], kind).toBe(compiledPath(source));
  });

  it('copies every folder a service imports at run time into the build, and compiles it', () => {
    for (const [name, entry] of Object.entries(entries)) {
      const graph = importGraph(REPO_ROOT, sourceOf(entry));
      for (const file of graph.files) {
        expect(isCopied(file), `${file} (imported by the ${name} service) is copied by a COPY of the build stage`).toBe(true);
        expect(compiled.has(file), `${file} (imported by the ${name} service) is in ${BUILD_TSCONFIG}`).toBe(true);
      }
      // The image installs production dependencies only.
      for (const p of graph.packages) expect(pkg.dependencies[p], `${p}, imported by the ${name} service, is a production dependency`).toBeDefined();
    }
  });

  it('copies every folder tsconfig.build.json compiles, and the run-time assets the services read beside their modules', () => {
    const includes = (buildConfig.raw as { include: string[] }).include.filter((dir) => existsSync(join(REPO_ROOT, dir)));
    for (const dir of includes) expect(copiedIntoBuild, `COPY ${dir} in the build stage`).toContain(dir);
    for (const asset of RUNTIME_ASSETS) {
      expect(asset.files(REPO_ROOT).length, `${asset.dir} has files to copy`).toBeGreaterThan(0);
      for (const file of asset.files(REPO_ROOT)) expect(isCopied(file), `${file}, read by ${asset.readBy}`).toBe(true);
    }
    for (const file of ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', BUILD_TSCONFIG, 'scripts/build']) expect(isCopied(file), file).toBe(true);
    expect(instructions(build, 'RUN')).toContain('npm run build');
  });

  it('installs production dependencies only, with the repository\'s .npmrc, and ships the build output', () => {
    const deps = stage('production-dependencies');
    expect(instructions(deps, 'RUN').some((r) => /^npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(copies(deps).flatMap((c) => c.sources)).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', '.npmrc']));
    const shipped = copies(runtime);
    expect(shipped).toContainEqual({ from: 'production-dependencies', sources: ['/app/node_modules'], destination: 'node_modules' });
    expect(shipped).toContainEqual({ from: 'build', sources: [`/src/${DIST_DIR}`], destination: DIST_DIR });
    expect(shipped.filter((c) => c.from === undefined).flatMap((c) => c.sources)).toEqual(['package.json']);
    expect(instructions(runtime, 'RUN').join(' ')).not.toMatch(/npm (ci|install)|tsx|npx/);
  });

  it('runs as a numeric non-root user from dist/, on a Node LTS image', () => {
    expect(instructions(runtime, 'USER').at(-1)).toMatch(/^[1-9][0-9]*(:[0-9]+)?$/);
    expect(instructions(runtime, 'WORKDIR').at(-1)).toBe(`/app/${DIST_DIR}`);
    expect(env(runtime).NODE_ENV).toBe('production');
    expect(read('Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:(24|26)-[a-z]+-slim$/m);
    const cmd = execForm(instructions(runtime, 'CMD').at(-1)!);
    expect(cmd[0]).toBe('node');
    expect(Object.values(entries)).toContain(cmd[1]);
  });
});

describe('the CUDA image (Dockerfile.cuda)', () => {
  const cuda = parseDockerfile(read('Dockerfile.cuda'));
  const final = cuda[cuda.length - 1]!;
  const text = read('Dockerfile.cuda');

  it('is the CPU image\'s application on an NVIDIA CUDA runtime, with the CUDA 12 build of onnxruntime-node', () => {
    expect(text).toMatch(/^ARG CUDA_IMAGE=nvidia\/cuda:12\.[0-9.]+-cudnn-runtime-/m);
    expect(final.from).toBe('${CUDA_IMAGE}');
    // Run directly: npm skips the script that package.json's allowScripts denies, `npm rebuild` included.
    expect(cuda.some((s) => instructions(s, 'RUN').includes('cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=true node script/install'))).toBe(true);
    expect(env(final).ORT_EXECUTION_PROVIDERS).toBe('cuda,cpu');
    const shipped = copies(final);
    expect(shipped).toContainEqual({ from: 'node-runtime', sources: ['/usr/local/bin/node'], destination: '/usr/local/bin/node' });
    expect(shipped).toContainEqual({ from: 'app', sources: [`/app/${DIST_DIR}`], destination: DIST_DIR });
    expect(shipped.find((c) => c.destination === 'node_modules')?.from).toBe('cuda-provider');
  });

  it('keeps the CPU image\'s layout, user and entry points', () => {
    expect(instructions(final, 'WORKDIR').at(-1)).toBe(instructions(runtime, 'WORKDIR').at(-1));
    expect(instructions(final, 'USER').at(-1)).toBe(instructions(runtime, 'USER').at(-1));
    expect(Object.values(entries)).toContain(execForm(instructions(final, 'CMD').at(-1)!)[1]);
  });
});

describe('the build context (.dockerignore)', () => {
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('keeps data, caches, tests, state, dependencies and benchmark models out', () => {
    for (const p of ['node_modules', 'dist', '.state', '.cache', 'data', 'test', 'bench', '.git']) expect(ignored, p).toContain(p);
  });

  it('keeps everything the Dockerfile copies in', () => {
    for (const src of copiedIntoBuild) {
      for (const pattern of ignored) expect(src === pattern || src.startsWith(`${pattern}/`), `${src} is excluded by ${pattern}`).toBe(false);
    }
  });
});

describe('the containers that run the image', () => {
  it('docker-compose.yml runs each pipeline service with node and an entry point of the image', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { build?: string; command?: string[] }> };
    const built = Object.entries(compose.services).filter(([, s]) => s.build === '.');
    expect(built.map(([name]) => name)).toEqual(expect.arrayContaining(['router', 'inference-v1', 'inference-v2', 'drift-monitor', 'rollouts', 'gateway']));
    for (const [name, service] of built) {
      expect(service.command?.[0], name).toBe('node');
      expect(Object.values(entries), name).toContain(service.command?.[1]);
    }
    // Every service of the image runs in compose.
    expect(new Set(built.map(([, service]) => service.command?.[1]))).toEqual(new Set(Object.values(entries)));
    expect(read('docker-compose.yml')).not.toMatch(/\b(npx|tsx)\b/);
  });

  it('every Kubernetes container of the image runs node and an entry point of the image', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : /\.ya?ml$/.test(f) ? [join(dir, f)] : []));
    const run = new Set<string | undefined>();
    for (const file of files(join(REPO_ROOT, 'deploy', 'k8s'))) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const containers = (doc.toJS() as { spec?: { template?: { spec?: { containers?: { image?: string; command?: string[] }[] } } } } | null)?.spec?.template?.spec?.containers;
        for (const c of containers ?? []) {
          if (c.image !== 'imgpipe') continue;
          run.add(c.command?.[1]);
          expect(c.command?.[0], file).toBe('node');
          expect(Object.values(entries), file).toContain(c.command?.[1]);
        }
      }
    }
    // Every service of the image has its Deployment.
    expect(run).toEqual(new Set(Object.values(entries)));
  });
});
