/**
 * The offline validators of the deploy checks, installed once per machine under <cache>/deploy-tools (the stack's
 * cache, ~/.cache/imgpipe) from the package registries this project can reach:
 *   kubeconform and kustomize   built with `go install` from the Go module proxy
 *   Kubernetes API JSON schemas the strict schemas inside PyPI's kubernetes-validate wheel (`pip download`)
 *   KEDA's CRD schemas          config/crd/bases of the Go module github.com/kedacore/keda/v2 (`go mod download`)
 * promtool comes from Debian's prometheus package (scripts/ensure-system-packages.sh).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { cacheDir } from '../../stack/paths.ts';
import { crdToJsonSchemas } from './crd-schema.ts';

const execFileAsync = promisify(execFile);

export const TOOL_VERSIONS = {
  kubeconform: 'v0.8.0',
  kustomize: 'v5.8.1',
  kubernetesValidate: '1.37.0',
  keda: 'v2.21.0',
} as const;

/** The oldest and the newest Kubernetes minor versions with upstream support in November 2026. */
export const KUBERNETES_VERSIONS = ['1.34.0', '1.36.0'] as const;

const KEDA_CRDS = ['keda.sh_scaledobjects.yaml', 'keda.sh_scaledjobs.yaml', 'keda.sh_triggerauthentications.yaml', 'keda.sh_clustertriggerauthentications.yaml'];

export interface DeployTools {
  kubeconform: string;
  kustomize: string;
  /** Folder of `<kind>-<group>-<version>.json` schemas per Kubernetes version, as kubeconform's -schema-location expects. */
  kubernetesSchemas: Record<string, string>;
  kedaSchemas: string;
  promtool: string;
}

function toolsDir(): string {
  return join(cacheDir(), 'deploy-tools');
}

export async function runTool(command: string, args: string[], env: Record<string, string> = {}, cwd = toolsDir()): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(`${command} is not installed: the deploy checks need Go, Python 3 with pip, and promtool (npm run setup:system installs the Debian packages)`, { cause: err });
    }
    throw new Error(`\`${command} ${args.join(' ')}\` failed: ${(e.stderr ?? e.message).trim().slice(-2000)}`, { cause: err });
  }
}

/** Writes a folder under a temporary name and renames it into place, so an interrupted run never leaves half of one. */
function writeFolderOnce(dir: string, fill: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(dir)) return Promise.resolve(dir);
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  return fill(tmp).then(() => {
    renameSync(tmp, dir);
    return dir;
  });
}

// The toolchain is the installed one: a newer toolchain would be downloaded from outside the registries.
const GO_ENV = { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };

async function goInstall(pkg: string, version: string, binary: string): Promise<string> {
  const dir = join(toolsDir(), 'bin', `${binary}-${version}`);
  await writeFolderOnce(dir, (tmp) => runTool('go', ['install', `${pkg}@${version}`], { ...GO_ENV, GOBIN: tmp }).then(() => undefined));
  return join(dir, binary);
}

/**
 * kubernetes-validate's schemas reference their shared definitions by an absolute URL path
 * (`/api/_definitions.json#...`, under an `$id` on kubernetes.io); made relative, kubeconform resolves them on disk.
 */
export function localiseKubernetesSchema(text: string): string {
  const schema = JSON.parse(text.replaceAll('"/api/_definitions.json#', '"_definitions.json#')) as Record<string, unknown>;
  delete schema.$id;
  return JSON.stringify(schema);
}

async function kubernetesSchemas(version: string): Promise<string> {
  const release = TOOL_VERSIONS.kubernetesValidate;
  const dir = join(toolsDir(), 'kubernetes-json-schema', `kubernetes-validate-${release}`, `v${version}`);
  return writeFolderOnce(dir, async (tmp) => {
    const downloads = join(toolsDir(), 'downloads');
    mkdirSync(downloads, { recursive: true });
    const wheel = join(downloads, `kubernetes_validate-${release}-py3-none-any.whl`);
    if (!existsSync(wheel)) {
      await runTool('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', `kubernetes-validate==${release}`, '-d', downloads]);
    }
    const prefix = `kubernetes_validate/kubernetes-json-schema/v${version}-local-strict/`;
    const extracted = join(tmp, 'wheel');
    const extract = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist():\n    if n.startswith(sys.argv[3]): z.extract(n, sys.argv[2])';
    await runTool('python3', ['-c', extract, wheel, extracted, prefix]);
    const source = join(extracted, prefix);
    if (!existsSync(source)) throw new Error(`kubernetes-validate ${release} has no schemas for Kubernetes ${version}`);
    for (const file of readdirSync(source)) writeFileSync(join(tmp, file), localiseKubernetesSchema(readFileSync(join(source, file), 'utf8')));
    rmSync(extracted, { recursive: true, force: true });
  });
}

async function kedaSchemas(): Promise<string> {
  const version = TOOL_VERSIONS.keda;
  const dir = join(toolsDir(), 'keda-json-schema', version);
  return writeFolderOnce(dir, async (tmp) => {
    const module = JSON.parse(await runTool('go', ['mod', 'download', '-json', `github.com/kedacore/keda/v2@${version}`], GO_ENV)) as { Dir?: string; Error?: string };
    if (!module.Dir) throw new Error(`go mod download github.com/kedacore/keda/v2@${version}: ${module.Error ?? 'no folder'}`);
    for (const crd of KEDA_CRDS) {
      for (const doc of parseAllDocuments(readFileSync(join(module.Dir, 'config', 'crd', 'bases', crd), 'utf8'))) {
        for (const [file, schema] of Object.entries(crdToJsonSchemas(doc.toJS()))) writeFileSync(join(tmp, file), JSON.stringify(schema));
      }
    }
  });
}

function promtool(): string {
  for (const candidate of ['/usr/bin/promtool', '/usr/local/bin/promtool']) if (existsSync(candidate)) return candidate;
  return 'promtool';
}

let installing: Promise<DeployTools> | undefined;

/** Installs what is missing (minutes the first time, on 2 cores), then answers from the cache. */
export function deployTools(): Promise<DeployTools> {
  installing ??= (async () => {
    mkdirSync(toolsDir(), { recursive: true });
    const kubeconform = await goInstall('github.com/yannh/kubeconform/cmd/kubeconform', TOOL_VERSIONS.kubeconform, 'kubeconform');
    const kustomize = await goInstall('sigs.k8s.io/kustomize/kustomize/v5', TOOL_VERSIONS.kustomize, 'kustomize');
    const schemas: Record<string, string> = {};
    for (const version of KUBERNETES_VERSIONS) schemas[version] = await kubernetesSchemas(version);
    return { kubeconform, kustomize, kubernetesSchemas: schemas, kedaSchemas: await kedaSchemas(), promtool: promtool() };
  })();
  return installing;
}
