/**
 * Renders the kustomize overlays and validates every manifest offline with kubeconform, in strict mode (no field
 * the schema does not know), against the Kubernetes API schemas of each supported version and KEDA's CRDs. A kind
 * without a schema is an error, not a skip.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../stack/paths.ts';
import { KUBERNETES_VERSIONS, runTool, type DeployTools } from './tools.ts';

const execFileAsync = promisify(execFile);

export const K8S_DIR = join(REPO_ROOT, 'deploy', 'k8s');
export const OVERLAYS = ['local', 'production'] as const;

export interface ManifestProblem {
  source: string;
  kubernetesVersion: string;
  kind: string;
  name: string;
  message: string;
}

export interface ValidationReport {
  /** Resources validated per Kubernetes version. */
  resources: number;
  problems: ManifestProblem[];
}

interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  status: string;
  msg: string;
}

export function renderOverlay(tools: DeployTools, overlay: string): Promise<string> {
  return runTool(tools.kustomize, ['build', join(K8S_DIR, overlay)]);
}

/** Problems in kubeconform's JSON report (statusInvalid, statusError: a missing schema or unparsable YAML). */
export function problemsOf(report: string, kubernetesVersion: string, source: string): { resources: number; problems: ManifestProblem[] } {
  const { resources } = JSON.parse(report) as { resources: KubeconformResource[] | null };
  const all = resources ?? [];
  const problems = all
    .filter((r) => r.status !== 'statusValid')
    .map((r) => ({
      source,
      kubernetesVersion,
      kind: r.kind,
      name: r.name,
      // The message holds every violation; drop kubeconform's preamble and the schema file's path.
      message: r.msg.replace(/^problem validating schema\. Check JSON formatting: jsonschema validation failed with '[^']*'\s*-?\s*/, '').replace(/\s+/g, ' '),
    }));
  return { resources: all.filter((r) => r.status === 'statusValid').length, problems };
}

/** Validates YAML text (many documents) against every supported Kubernetes version; `source` names it in problems. */
export async function validateManifests(tools: DeployTools, yaml: string, source: string): Promise<ValidationReport> {
  const dir = mkdtempSync(join(tmpdir(), 'imgpipe-manifests-'));
  try {
    const file = join(dir, 'manifests.yaml');
    writeFileSync(file, yaml);
    const report: ValidationReport = { resources: 0, problems: [] };
    for (const version of KUBERNETES_VERSIONS) {
      const args = [
        '-strict', '-output', 'json', '-verbose', '-kubernetes-version', version,
        '-schema-location', join(tools.kubernetesSchemas[version]!, '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
        '-schema-location', join(tools.kedaSchemas, '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
        file,
      ];
      // kubeconform exits 1 when a resource is invalid; the JSON report on stdout says which.
      const stdout = await execFileAsync(tools.kubeconform, args, { maxBuffer: 64 * 1024 * 1024 }).then(
        (r) => r.stdout,
        (err: { stdout?: string; message: string }) => {
          if (err.stdout) return err.stdout;
          throw new Error(`kubeconform failed: ${err.message}`, { cause: err });
        },
      );
      const result = problemsOf(stdout, version, source);
      report.resources = result.resources;
      report.problems.push(...result.problems);
    }
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
