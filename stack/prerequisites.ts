import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/** A program the stack needs, and what to tell the user when it is missing. */
export interface Tool {
  command: string;
  neededFor: string;
  install: string;
}

export const JAVA: Tool = {
  command: 'java',
  neededFor: 'running Kafka and the schema registry',
  install: 'install a JDK 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless)',
};
export const MAVEN: Tool = {
  command: 'mvn',
  neededFor: 'downloading Kafka and the schema registry from Maven Central',
  install: 'install Apache Maven 3.8 or newer (Debian/Ubuntu: apt-get install maven)',
};
export const GO: Tool = {
  command: 'go',
  neededFor: 'building MinIO from the Go module proxy',
  install: 'install Go 1.24 or newer from https://go.dev/dl/',
};

const MIN_JAVA_MAJOR = 17;

export function findOnPath(command: string, pathVariable: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return undefined;
}

/** Throws one error listing every missing tool, so the user fixes them all in one go. */
export async function requireTools(tools: readonly Tool[]): Promise<void> {
  const unique = [...new Map(tools.map((tool) => [tool.command, tool])).values()];
  const missing = unique.filter((tool) => !findOnPath(tool.command));
  if (missing.length > 0) {
    const lines = missing.map((tool) => `  - ${tool.command} (for ${tool.neededFor}): ${tool.install}`);
    throw new Error(`The local stack needs programs that are not on PATH:\n${lines.join('\n')}`);
  }
  if (unique.includes(JAVA)) await requireJavaVersion();
}

async function requireJavaVersion(): Promise<void> {
  // `java -version` writes to stderr, e.g. `openjdk version "17.0.15" 2025-04-15`.
  const { stderr } = await promisify(execFile)('java', ['-version']);
  const major = parseJavaMajorVersion(stderr);
  if (major !== undefined && major < MIN_JAVA_MAJOR) {
    throw new Error(`Kafka 4 and Apicurio Registry 3 need Java ${MIN_JAVA_MAJOR}+, but \`java\` is ${major}: ${JAVA.install}`);
  }
}

export function parseJavaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  // Java 8 and older report themselves as 1.x.
  return first === 1 && match[2] ? Number(match[2]) : first;
}
