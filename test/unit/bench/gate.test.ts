import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkGate, describeGate, gateValuesOf, type GateFloors } from '../../../bench/gate.ts';

const config: GateFloors = { tolerance: 0.25, floors: { a: 2, b: 1 } };

describe('checkGate', () => {
  it('passes ratios at or above floor × (1 − tolerance)', () => {
    const { pass, checks } = checkGate({ a: 1.5, b: 0.9 }, config);
    expect(pass).toBe(true);
    expect(checks.map((c) => c.threshold)).toEqual([1.5, 0.75]);
  });

  it('fails a ratio below its threshold and names it', () => {
    const { pass, checks } = checkGate({ a: 1.49, b: 3 }, config);
    expect(pass).toBe(false);
    expect(describeGate(checks)[0]).toMatch(/^FAIL a = 1\.490 \(floor 2, fails below 1\.500\)/);
    expect(describeGate(checks)[1]).toMatch(/^ok {3}b = 3\.000/);
  });

  it('fails a ratio the run did not produce, or produced as NaN', () => {
    expect(checkGate({ a: 5 }, config).pass).toBe(false);
    expect(checkGate({ a: 5, b: Number.NaN }, config).pass).toBe(false);
  });

  it('refuses a tolerance outside [0, 1)', () => {
    expect(() => checkGate({}, { tolerance: 1, floors: {} })).toThrow(/tolerance/);
  });

  it('the committed floors are ratios with a tolerance', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../bench/gate-floors.json', import.meta.url), 'utf8')) as GateFloors;
    expect(committed.tolerance).toBeGreaterThan(0);
    expect(committed.tolerance).toBeLessThan(1);
    expect(Object.keys(committed.floors).length).toBeGreaterThan(0);
    for (const floor of Object.values(committed.floors)) expect(floor).toBeGreaterThan(0);
  });

  it('every model measured offers its three ratios under the names the floors use', () => {
    const values = gateValuesOf([
      { model: 'fashion-mnist-v1', ours_over_reference: 2.5, ours_over_reference_cpu: 2.9, pipeline_share_of_bound: 0.4 },
      { model: 'text-direction', ours_over_reference: 1.1, ours_over_reference_cpu: undefined, pipeline_share_of_bound: 0.9 },
    ]);
    expect(values).toEqual({
      'fashion-mnist-v1.ours_over_reference': 2.5, 'fashion-mnist-v1.ours_over_reference_cpu': 2.9, 'fashion-mnist-v1.pipeline_share_of_bound': 0.4,
      'text-direction.ours_over_reference': 1.1, 'text-direction.ours_over_reference_cpu': undefined, 'text-direction.pipeline_share_of_bound': 0.9,
    });
    const committed = JSON.parse(readFileSync(new URL('../../../bench/gate-floors.json', import.meta.url), 'utf8')) as GateFloors;
    const measured = gateValuesOf(['fashion-mnist-v1', 'mobilenetv2-224'].map((model) => ({ model, ours_over_reference: 9, ours_over_reference_cpu: 9, pipeline_share_of_bound: 9 })));
    expect(checkGate(measured, committed).pass).toBe(true);
  });
});
