import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifestJson } from '../../../models/loader/parse-manifest.ts';
import { validateManifest } from '../../../models/loader/validate-manifest.ts';
import type { Calibration, CorrectnessModel } from '../../../models/manifest.ts';
import { validManifest } from '../inference/fixtures.ts';

const CALIBRATION: Calibration = { method: 'temperature', temperature: 1.2, source: 'validation split', samples: 5000, test_ece_before: 0.02, test_ece_after: 0.01 };

function refusal(raw: unknown): string {
  try {
    validateManifest(raw, 'fixture/manifest.json');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the manifest to be refused');
}

describe('manifest calibration (optional)', () => {
  it('keeps a manifest without it valid, and takes a complete one typed', () => {
    expect(validateManifest(validManifest(), 'x').calibration).toBeUndefined();
    expect(validateManifest(validManifest({ calibration: CALIBRATION }), 'x').calibration).toEqual(CALIBRATION);
    const minimal: Calibration = { method: 'temperature', temperature: 1.2, source: 'validation split', samples: 5000 };
    expect(validateManifest(validManifest({ calibration: minimal }), 'x').calibration?.temperature).toBe(1.2);
  });

  it('names every bad calibration field', () => {
    const bad = { method: 'platt', temperature: 0, source: '', samples: 2.5, test_ece_after: 3 };
    const message = refusal(validManifest({ calibration: bad as unknown as Calibration }));
    for (const field of ['calibration.method', 'calibration.temperature', 'calibration.source', 'calibration.samples', 'calibration.test_ece_after']) {
      expect(message).toContain(field);
    }
    expect(refusal(validManifest({ calibration: 'hot' as unknown as Calibration }))).toMatch(/calibration must be an object/);
  });

  it('takes the ATC thresholds and validation figures, optional, and names bad ones', () => {
    const full: Calibration = {
      ...CALIBRATION, scores_top_k: 5, validation_accuracy: 0.93, validation_mean_probability: 0.931, atc_max_probability_threshold: 0.615, atc_negative_entropy_threshold: -0.78,
    };
    expect(validateManifest(validManifest({ calibration: full }), 'x').calibration).toEqual(full);
    const bad = { ...CALIBRATION, scores_top_k: 0, validation_accuracy: 1.5, validation_mean_probability: -0.1, atc_max_probability_threshold: 2, atc_negative_entropy_threshold: 0.3 };
    const message = refusal(validManifest({ calibration: bad as unknown as Calibration }));
    for (const field of ['scores_top_k', 'validation_accuracy', 'validation_mean_probability', 'atc_max_probability_threshold', 'atc_negative_entropy_threshold']) {
      expect(message).toContain(`calibration.${field}`);
    }
  });

  it('takes a correctness model, optional, and names its bad fields', () => {
    const correctness: CorrectnessModel = {
      method: 'logistic', features: ['logit_probability', 'noise'], intercept: 1.5,
      terms: [{ feature: 'logit_probability', coefficient: 0.9 }, { feature: 'noise', hinge_at: 0.05, coefficient: -20 }, { feature: 'noise', times: 'logit_probability', coefficient: -3 }],
      class_offsets: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], source: 'validation split under a shift suite', samples: 900000,
    };
    expect(validateManifest(validManifest({ calibration: { ...CALIBRATION, correctness } }), 'x').calibration?.correctness).toEqual(correctness);
    const bad = { method: 'probit', features: ['colour'], intercept: Number.NaN, terms: [{ feature: 'hue', times: 'size', hinge_at: 'x', coefficient: null }], class_offsets: [0, 1], samples: 0 };
    const message = refusal(validManifest({ calibration: { ...CALIBRATION, correctness: bad as unknown as CorrectnessModel } }));
    for (const field of ['method', 'features', 'intercept', 'terms[0].feature', 'terms[0].times', 'terms[0].hinge_at', 'terms[0].coefficient', 'class_offsets', 'samples']) {
      expect(message).toContain(`calibration.correctness.${field}`);
    }
  });

  it('refuses a temperature for independent sigmoid scores', () => {
    const m = validManifest({ calibration: CALIBRATION });
    expect(refusal({ ...m, output: { ...m.output, kind: 'sigmoid' } })).toMatch(/calibration must be absent for output.kind "sigmoid"/);
  });

  it('is in the committed Fashion-MNIST manifests, fitted on their validation split', () => {
    for (const version of ['v1', 'v2', 'v2-int8']) {
      const path = new URL(`../../../models/fashion-mnist/${version}/manifest.json`, import.meta.url);
      const manifest = parseManifestJson(readFileSync(path, 'utf8'), path.pathname);
      expect(manifest.calibration?.method).toBe('temperature');
      // A temperature far from 1 would mean a badly calibrated network; these were within a few percent.
      expect(manifest.calibration?.temperature).toBeGreaterThan(0.8);
      expect(manifest.calibration?.temperature).toBeLessThan(1.25);
      expect(manifest.calibration?.samples).toBe(manifest.lineage?.validation_samples);
      // ATC: the share of validation predictions above the threshold is their accuracy, close to the trained one.
      expect(manifest.calibration?.scores_top_k).toBe(5);
      expect(Math.abs(manifest.calibration!.validation_accuracy! - manifest.metrics!.validation_accuracy)).toBeLessThan(0.005);
      expect(manifest.calibration?.atc_max_probability_threshold).toBeDefined();
      expect(manifest.calibration?.atc_negative_entropy_threshold).toBeDefined();
    }
    // The correctness model (models/training/correctness.py) for the two models the label-free goal is pinned on.
    for (const version of ['v1', 'v2']) {
      const path = new URL(`../../../models/fashion-mnist/${version}/manifest.json`, import.meta.url);
      const c = parseManifestJson(readFileSync(path, 'utf8'), path.pathname).calibration?.correctness;
      expect(c?.method).toBe('logistic');
      expect(c?.class_offsets).toHaveLength(10);
      expect(c?.terms.length).toBeGreaterThan(50);
    }
  });
});
