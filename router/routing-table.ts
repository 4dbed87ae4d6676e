import type { Logger } from '../platform/logger.ts';
import {
  compileExperiment,
  validateExperimentConfig,
  type ExperimentConfig,
  type ExperimentRouter,
  type RoutingInput,
  type RoutingResult,
  type VersionDown,
} from './experiment/index.ts';

export type ApplyOutcome = { applied: true; config: ExperimentConfig | null } | { applied: false; errors: string[] };

/**
 * The live routing state: the compiled experiment of one table key on the compacted topic, or a plain default
 * route when none is published. Invalid updates are refused and the previous experiment stays active.
 */
export class RoutingTable {
  private router: ExperimentRouter | null = null;

  /** `versionDown` (router/version-health.ts) lets rules with a fallback route around a version that is down. */
  constructor(
    private readonly fallbackVersion: string,
    private readonly logger: Logger,
    private readonly versionDown: VersionDown = () => false,
  ) {}

  get experiment(): ExperimentConfig | null {
    return this.router?.config ?? null;
  }

  /** Every version routing may currently produce to (topics to ensure). */
  get versions(): string[] {
    return this.router?.config.versions ?? [this.fallbackVersion];
  }

  /** Validates first; only a valid config replaces the active one. `null` (a tombstone) returns to the default route. */
  apply(value: unknown | null): ApplyOutcome {
    if (value === null) {
      this.router = null;
      this.logger.warn({ fallbackVersion: this.fallbackVersion }, 'experiment deleted; routing everything to the default version');
      return { applied: true, config: null };
    }
    const result = validateExperimentConfig(value);
    if (!result.ok) {
      this.logger.error({ errors: result.errors, active: this.router?.config.id ?? null }, 'experiment rejected; the previous one stays active');
      return { applied: false, errors: result.errors };
    }
    this.router = compileExperiment(result.config);
    this.logger.info({ experiment: result.config.id, versions: result.config.versions, rules: result.config.rules.length }, 'experiment activated');
    return { applied: true, config: result.config };
  }

  /** Versions whose health matters: those of the active experiment when one of its rules names a fallback. */
  get versionsWithFallback(): string[] {
    const config = this.router?.config;
    return config && config.rules.some((rule) => rule.fallback !== null) ? config.versions : [];
  }

  route(input: RoutingInput): RoutingResult {
    if (this.router) return this.router.route(input, this.versionDown);
    return { ok: true, experimentId: '', ruleId: null, primary: { version: this.fallbackVersion, reason: 'default' }, shadows: [] };
  }
}
