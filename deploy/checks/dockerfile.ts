/**
 * Enough of the Dockerfile syntax to check an image without building it: stages, instructions (continuation
 * lines joined, comments dropped), COPY sources and destinations, LABELs and exec-form commands.
 */

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  value: string;
}

export interface Stage {
  /** The image or stage it starts FROM, build arguments not expanded. */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Copy {
  /** The stage or image of `--from`, undefined when copying from the build context. */
  from: string | undefined;
  sources: string[];
  destination: string;
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // A comment inside a continued instruction.
    if (line.endsWith('\\')) pending += `${line.slice(0, -1).trim()} `;
    else {
      logical.push(pending + line);
      pending = '';
    }
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', value = ''] = line.match(/^(\S+)\s*(.*)$/) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const m = value.match(/^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i);
      if (!m) throw new Error(`cannot read FROM ${value}`);
      stages.push({ from: m[1]!, name: m[2], instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.instructions.push({ keyword: upper, value });
    }
  }
  return stages;
}

export function instructions(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.value);
}

export function copies(stage: Stage): Copy[] {
  return instructions(stage, 'COPY').map((value) => {
    const words = value.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), destination: paths[paths.length - 1]! };
  });
}

/** `LABEL a="x" b=y` and one label per LABEL line alike. */
export function labels(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of instructions(stage, 'LABEL')) {
    for (const m of value.matchAll(/([A-Za-z0-9._-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return out;
}

/** ENV in both forms: `ENV A=1 B="2"` and the legacy `ENV A 1`. */
export function env(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of instructions(stage, 'ENV')) {
    if (!value.includes('=')) {
      const [name, ...rest] = value.split(/\s+/);
      out[name!] = rest.join(' ');
      continue;
    }
    for (const m of value.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)/g)) out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return out;
}

/** The exec form of CMD or ENTRYPOINT (`["node", "x.js"]`); the shell form is refused, it would put sh in front. */
export function execForm(value: string): string[] {
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string')) throw new Error(`not an exec form: ${value}`);
  return parsed;
}

/** Label keys of the image's entry points: `imgpipe.entrypoint.<package script name>`. */
export const ENTRYPOINT_LABEL = 'imgpipe.entrypoint.';

export function entryPoints(stage: Stage): Record<string, string> {
  return Object.fromEntries(Object.entries(labels(stage)).filter(([k]) => k.startsWith(ENTRYPOINT_LABEL)).map(([k, v]) => [k.slice(ENTRYPOINT_LABEL.length), v]));
}
