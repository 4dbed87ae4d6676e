import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { LOCAL_STACK_ENV, LOOPBACK, REGISTRY_PORT } from '../endpoints.ts';
import { httpStatus } from '../health.ts';
import { REPO_ROOT } from '../paths.ts';
import { JAVA, MAVEN } from '../prerequisites.ts';
import { runLogged } from '../run-logged.ts';
import type { LocalServer, ServerContext } from '../server.ts';

/** Builds Apicurio Registry from Maven Central (idempotent) and prints the runnable jar's path last. */
const INSTALL_SCRIPT = join(REPO_ROOT, 'stack', 'apicurio', 'install.sh');

const installDir = (ctx: ServerContext) => join(ctx.cacheDir, 'apicurio');

export const registryServer: LocalServer = {
  name: 'schema-registry',
  title: 'Apicurio Registry (Confluent-compatible API)',
  listens: [`ccompat API ${LOCAL_STACK_ENV.SCHEMA_REGISTRY_URL}`, `UI/REST http://${LOOPBACK}:${REGISTRY_PORT}`],
  startupTimeoutMs: 180_000,
  stopGraceMs: 15_000,
  // The install script runs on every start (see prepare), so Maven is a run-time need here.
  runTools: [JAVA, MAVEN],
  installTools: [],

  // A system property that only our launch sets, carrying this checkout's state path.
  processMarker: (ctx) => `-Dimgpipe.stack.dir=${ctx.stateDir}`,

  // Only the install script knows whether its build is current and where the jar is, so prepare() asks it
  // every time; once built that is quick.
  isInstalled: () => true,
  install: async () => undefined,

  async prepare(ctx) {
    if (!existsSync(INSTALL_SCRIPT)) {
      throw new Error(`${INSTALL_SCRIPT} is missing; the schema registry cannot be installed without it.`);
    }
    ctx.progress(`schema-registry: checking the Apicurio Registry build in ${installDir(ctx)} (first time: Maven build, minutes)`);
    const stdout = await runLogged(
      { command: 'bash', args: [INSTALL_SCRIPT, installDir(ctx)] },
      join(ctx.stateDir, 'install.log'),
      ctx.progress,
      'schema-registry: still installing',
    );
    const runnableJar = parseJarPath(stdout, INSTALL_SCRIPT);
    mkdirSync(ctx.stateDir, { recursive: true });
    return {
      command: 'java',
      args: [
        '-Xmx512m',
        `-Dimgpipe.stack.dir=${ctx.stateDir}`,
        `-Dquarkus.http.host=${LOOPBACK}`,
        `-Dquarkus.http.port=${REGISTRY_PORT}`,
        '-jar',
        runnableJar,
      ],
      // Quarkus resolves relative paths (tmp files, config overrides) against the working directory.
      cwd: ctx.stateDir,
      // A file database instead of the default in-memory one: Kafka's data survives `down`/`up`, and the schema
      // ids inside its Avro records must keep meaning the same schemas (in memory they restart at 1).
      env: { REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${join(ctx.stateDir, 'data', 'registry')}` },
    };
  },

  isHealthy: async () => (await httpStatus(`${LOCAL_STACK_ENV.SCHEMA_REGISTRY_URL}/subjects`)) === 200,
};

/** The last non-empty stdout line of the install script, which must be an existing absolute path. */
export function parseJarPath(stdout: string, script: string): string {
  const last = stdout.trimEnd().split('\n').pop()?.trim() ?? '';
  if (!isAbsolute(last) || !existsSync(last)) {
    throw new Error(`${script} should print the runnable jar's absolute path on its last line, but printed "${last}"`);
  }
  return last;
}
