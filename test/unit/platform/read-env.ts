/** Reads settings from an environment the way a service does at start, keeping what EnvReader reports. */
import { ConfigError, EnvReader } from '../../../platform/config.ts';

export function readEnv<T>(env: Record<string, string>, readSettings: (reader: EnvReader) => T): { settings: T; problems: string[] } {
  const reader = new EnvReader(env);
  const settings = readSettings(reader);
  try {
    reader.done();
    return { settings, problems: [] };
  } catch (err) {
    if (err instanceof ConfigError) return { settings, problems: err.problems };
    throw err;
  }
}
