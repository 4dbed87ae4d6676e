/**
 * Routes one request through an experiment. `compileExperiment` does the per-config work once (regexes,
 * bucket layouts, shadow lists) because routing runs for every record at full input rate.
 *
 * Order of decision for the first rule whose predicates all hold:
 * 1. pinned: the request's pinned_version when the rule allows pins; a version not in `versions` is an
 *    UnknownVersion result (to dead-letter), not a fallback, so a typo in a pin is seen rather than hidden;
 * 2. split: the bucket of the `sticky_by` value (reason 'sticky') or, without sticky_by or when the request
 *    lacks that field, of request_id (reason 'split');
 * 3. the experiment's default_version when the rule has no split.
 * Then, when the version so chosen is down (`isDown`) and the rule names a fallback that is not, the fallback
 * serves instead (reason 'fallback', `fallbackFrom` says what it replaced).
 * No rule matching gives default_version with ruleId null. Shadows are the rule's shadow list minus the
 * primary version chosen for this request. A rule's `priority` is passed on with its decision (the router picks
 * the lane from it).
 */
import { fieldReader, parseFieldName, type FieldReader } from './fields.ts';
import { bucketOf, layoutSplit, versionForBucket, type BucketLayout } from './hash-bucket.ts';
import { compilePredicate, type CompiledPredicate } from './predicates.ts';
import type { Lane } from '../../platform/topics.ts';
import type { ExperimentConfig, Rule, RoutingDecision, RoutingInput, RoutingReason, RoutingResult, VersionDown } from './types.ts';

export interface ExperimentRouter {
  readonly config: ExperimentConfig;
  /** `isDown` (default: every version up) lets rules with a fallback route around a version that is down. */
  route(input: RoutingInput, isDown?: VersionDown): RoutingResult;
}

const ALL_UP: VersionDown = () => false;

interface CompiledRule {
  id: string;
  predicates: CompiledPredicate[];
  allowPinned: boolean;
  layout: BucketLayout | null;
  stickyKey: FieldReader | null;
  fallback: string | null;
  priority: Lane | null;
  /** Shadow list per possible primary version, built once so routing allocates no arrays. */
  shadowsByPrimary: Map<string, readonly string[]>;
}

const NO_SHADOWS: readonly string[] = Object.freeze([]);

function compileRule(rule: Rule, versions: readonly string[]): CompiledRule {
  const stickyRef = rule.sticky_by === null ? null : parseFieldName(rule.sticky_by);
  if (rule.sticky_by !== null && stickyRef === null) {
    throw new Error(`rule "${rule.id}": unknown sticky_by field "${rule.sticky_by}"; validate the experiment first`);
  }
  const shadowsByPrimary = new Map(
    versions.map((primary) => [primary, Object.freeze(rule.shadow.filter((shadow) => shadow !== primary))] as const),
  );
  return {
    id: rule.id,
    predicates: rule.match.map(compilePredicate),
    allowPinned: rule.allow_pinned,
    layout: rule.split.length === 0 ? null : layoutSplit(rule.split),
    stickyKey: stickyRef === null ? null : fieldReader(stickyRef),
    fallback: rule.fallback,
    priority: rule.priority ?? null,
    shadowsByPrimary,
  };
}

function matches(rule: CompiledRule, input: RoutingInput): boolean {
  for (const predicate of rule.predicates) {
    if (!predicate(input)) return false;
  }
  return true;
}

/** `config` must have passed `validateExperimentConfig`. */
export function compileExperiment(config: ExperimentConfig): ExperimentRouter {
  const experimentId = config.id;
  const bucketSeed = config.bucket_seed ?? experimentId;
  const known = new Set(config.versions);
  const rules = config.rules.map((rule) => compileRule(rule, config.versions));

  function decide(rule: CompiledRule, input: RoutingInput, isDown: VersionDown): RoutingResult {
    const pinned = input.request.pinned_version;
    if (rule.allowPinned && pinned !== null) {
      if (!known.has(pinned)) {
        return {
          ok: false,
          errorClass: 'UnknownVersion',
          experimentId,
          ruleId: rule.id,
          pinnedVersion: pinned,
          message:
            `pinned_version "${pinned}" is not a version of experiment "${experimentId}" ` +
            `(versions: ${config.versions.join(', ')}); pin one of those, or add it to the experiment`,
        };
      }
      return decision(rule, pinned, 'pinned', isDown);
    }
    if (rule.layout === null) return decision(rule, config.default_version, 'default', isDown);
    const stickyValue = rule.stickyKey?.(input);
    const bucket = bucketOf(bucketSeed, rule.id, stickyValue ?? input.request.request_id);
    return decision(rule, versionForBucket(rule.layout, bucket), stickyValue === undefined ? 'split' : 'sticky', isDown, bucket);
  }

  function decision(
    rule: CompiledRule,
    chosen: string,
    chosenReason: Exclude<RoutingReason, 'fallback'>,
    isDown: VersionDown,
    bucket?: number,
  ): RoutingDecision {
    const fallback = rule.fallback;
    const useFallback = fallback !== null && fallback !== chosen && isDown(chosen) && !isDown(fallback);
    const version = useFallback ? fallback : chosen;
    const shadows = rule.shadowsByPrimary.get(version) ?? NO_SHADOWS;
    const primary = { version, reason: useFallback ? 'fallback' : chosenReason } as const;
    const result: RoutingDecision = { ok: true, experimentId, ruleId: rule.id, primary, shadows };
    if (useFallback) result.fallbackFrom = { version: chosen, reason: chosenReason };
    if (bucket !== undefined) result.bucket = bucket;
    if (rule.priority !== null) result.priority = rule.priority;
    return result;
  }

  return {
    config,
    route(input, isDown = ALL_UP) {
      for (const rule of rules) {
        if (matches(rule, input)) return decide(rule, input, isDown);
      }
      return {
        ok: true,
        experimentId,
        ruleId: null,
        primary: { version: config.default_version, reason: 'default' },
        shadows: NO_SHADOWS,
      };
    },
  };
}

const compiledByConfig = new WeakMap<ExperimentConfig, ExperimentRouter>();

/** Routes with a router compiled once per config object; hold an ExperimentRouter yourself where you can. */
export function route(config: ExperimentConfig, input: RoutingInput): RoutingResult {
  let router = compiledByConfig.get(config);
  if (router === undefined) {
    router = compileExperiment(config);
    compiledByConfig.set(config, router);
  }
  return router.route(input);
}
