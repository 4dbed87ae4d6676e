/**
 * The CI performance gate: ratios measured within one run (never absolute times, which depend on the machine)
 * checked against floors committed in bench/gate-floors.json. A noisy shared machine moves ratios too, so a
 * ratio fails only below floor × (1 − tolerance). Pure.
 */

export interface GateFloors {
  /** Share of a floor a measurement may fall short by, e.g. 0.25. */
  tolerance: number;
  /** Ratio name (as in the benchmark's `gate.values`) → floor. */
  floors: Record<string, number>;
}

export interface GateCheck {
  name: string;
  value: number | undefined;
  floor: number;
  /** floor × (1 − tolerance): what the value must reach. */
  threshold: number;
  pass: boolean;
}

/** The ratios a model's entry offers the gate, named `<model>.<ratio>` as bench/gate-floors.json names them. */
export const GATED_RATIOS = ['ours_over_reference', 'ours_over_reference_cpu', 'pipeline_share_of_bound'] as const;

export function gateValuesOf(models: readonly ({ model: string } & Record<(typeof GATED_RATIOS)[number], number | undefined>)[]): Record<string, number | undefined> {
  return Object.fromEntries(models.flatMap((m) => GATED_RATIOS.map((ratio) => [`${m.model}.${ratio}`, m[ratio]] as const)));
}

export function checkGate(values: Record<string, number | undefined>, config: GateFloors): { pass: boolean; checks: GateCheck[] } {
  if (!(config.tolerance >= 0 && config.tolerance < 1)) throw new RangeError(`gate tolerance must be in [0, 1), got ${config.tolerance}`);
  const checks = Object.entries(config.floors).map(([name, floor]) => {
    const value = values[name];
    const threshold = floor * (1 - config.tolerance);
    // A ratio the run did not produce fails: a gate that skips silently guards nothing.
    return { name, value, floor, threshold, pass: value !== undefined && Number.isFinite(value) && value >= threshold };
  });
  return { pass: checks.every((c) => c.pass), checks };
}

export function describeGate(checks: GateCheck[]): string[] {
  return checks.map((c) => `${c.pass ? 'ok  ' : 'FAIL'} ${c.name} = ${c.value === undefined ? 'missing' : c.value.toFixed(3)} (floor ${c.floor}, fails below ${c.threshold.toFixed(3)})`);
}
