/**
 * Configuration from environment variables, validated at start. Every problem is collected and reported
 * at once, each naming the variable and the form it expects, so one restart fixes them all.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the variables above and start again (see README "Configuration").`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads typed values from an environment, recording problems instead of throwing on the first one. */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  private fail<T>(name: string, value: string, expected: string, fallback: T): T {
    this.problems.push(`${name}=${JSON.stringify(value)}: expected ${expected}`);
    return fallback;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  requiredString(name: string, expected: string): string {
    const value = this.raw(name);
    if (value === undefined) {
      this.problems.push(`${name} is not set: expected ${expected}`);
      return '';
    }
    return value;
  }

  int(name: string, fallback: number, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max) {
      return this.fail(name, value, `an integer from ${min} to ${max}`, fallback);
    }
    return n;
  }

  number(name: string, fallback: number, { min = -Infinity, max = Infinity } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) return this.fail(name, value, `a number from ${min} to ${max}`, fallback);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    return this.fail(name, value, 'true or false', fallback);
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((choices as readonly string[]).includes(value)) return value as T;
    return this.fail(name, value, `one of ${choices.join(' | ')}`, fallback);
  }

  /** Comma-separated list; each item checked by `pattern` when given. */
  list(name: string, fallback: string[], pattern?: { regex: RegExp; expected: string }): string[] {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (pattern && items.some((item) => !pattern.regex.test(item))) {
      return this.fail(name, value, `a comma-separated list of ${pattern.expected}`, fallback);
    }
    return items;
  }

  url(name: string, fallback: string, protocols: string[] = ['http:', 'https:']): string {
    const value = this.raw(name) ?? fallback;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return value.replace(/\/+$/, '');
    } catch {
      return this.fail(name, value, `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`, fallback);
    }
  }

  /** A custom check: records `expected` against the variable when `ok` is false. */
  check(ok: boolean, name: string, value: string, expected: string): void {
    if (!ok) this.fail(name, value, expected, undefined);
  }

  /** Throws a ConfigError listing every problem seen so far. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError([...this.problems]);
  }
}
