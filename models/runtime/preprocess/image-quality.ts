/**
 * Per-image quality features of the model-input pixels, for the drift monitor's label-free correctness model
 * (drift-monitor/analytics/label-free.ts, fitted by models/training/correctness.py, which computes the same
 * features in numpy: keep the two in step). Pure; about 13 µs for a 28×28 image.
 *
 * Computed on a grey copy of the resized 8-bit pixels (the mean of the channels), or for inputs over 64×64 on
 * its central 64×64 crop (aligned to the 8×8 grid), so a large RGB input costs no more than a small one; a crop
 * keeps what the features measure per pixel (noise, sharpness, block edges), a downscale would not.
 * Values are in units of the pixel range [0, 1].
 */

/** The features as they travel in a Prediction's input_stats.quality (schemas/prediction.avsc). */
export interface ImageQuality {
  /** Immerkær's fast noise estimate: √(π/2) / (6 (W−2)(H−2)) · Σ |I ∗ M|, M the 3×3 Laplacian-difference mask. */
  noise: number;
  /** Median of |I ∗ M| over the interior pixels (not scaled): robust to edges, high under pixel noise. */
  residual_median: number;
  /** Share of pixels exactly 0 (the black background of clean Fashion-MNIST; noise and JPEG remove it). */
  zero_fraction: number;
  /** Mean squared 4-neighbour Laplacian over the mean squared gradient (falls under blur, rises under noise). */
  sharpness: number;
  /** Mean |step| across the 8×8 block boundaries over the mean |step| elsewhere (rises under heavy JPEG). */
  blockiness: number;
  /** Among pixels ≤ 0.25, the share that is not 0. */
  dark_nonzero: number;
  /** Mean |horizontal step| between neighbouring pixels both < 0.3 (the background's texture: noise level). */
  dark_step: number;
}

/** Side of the crop the features are computed on for larger inputs. */
export const QUALITY_MAX_SIDE = 64;

/** The |residual| histogram, reused (single-threaded: each call leaves it zeroed). */
const COUNTS = new Uint32Array(16 * 255 + 1);

const LOW = 63; // v / 255 <= 0.25
const DARK = 76; // v / 255 < 0.3

/** Grey 8-bit pixels (row-major, one byte each) of the region the features use. */
function greyRegion(raw: Uint8Array, width: number, height: number, channels: number): { grey: Uint8Array; w: number; h: number } {
  const w = Math.min(width, QUALITY_MAX_SIDE);
  const h = Math.min(height, QUALITY_MAX_SIDE);
  const x0 = Math.floor((width - w) / 16) * 8;
  const y0 = Math.floor((height - h) / 16) * 8;
  if (channels === 1 && w === width && h === height) return { grey: raw, w, h };
  const grey = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const base = ((y0 + y) * width + (x0 + x)) * channels;
      let s = 0;
      for (let c = 0; c < channels; c++) s += raw[base + c]!;
      grey[y * w + x] = channels === 1 ? s : Math.round(s / channels);
    }
  }
  return { grey, w, h };
}

/** Quality features of interleaved 8-bit pixels (height × width × channels); null for images under 3×3. */
export function imageQuality(raw: Uint8Array, width: number, height: number, channels: number): ImageQuality | null {
  if (width < 3 || height < 3 || raw.length < width * height * channels) return null;
  const { grey: g, w, h } = greyRegion(raw, width, height, channels);
  const n = w * h;
  let zeros = 0;
  let low = 0;
  let lowNonzero = 0;
  for (let i = 0; i < n; i++) {
    const v = g[i]!;
    if (v === 0) zeros += 1;
    if (v <= LOW) {
      low += 1;
      if (v > 0) lowNonzero += 1;
    }
  }
  // Horizontal steps: gradient energy, block-boundary and dark-background steps.
  let gx2 = 0;
  let onBlock = 0;
  let offBlock = 0;
  let nOn = 0;
  let nOff = 0;
  let darkSum = 0;
  let darkCount = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w - 1; x++) {
      const a = g[row + x]!;
      const b = g[row + x + 1]!;
      const d = b - a;
      const ad = d < 0 ? -d : d;
      gx2 += d * d;
      if ((x & 7) === 7) {
        onBlock += ad;
        nOn += 1;
      } else {
        offBlock += ad;
        nOff += 1;
      }
      if (a <= DARK && b <= DARK) {
        darkSum += ad;
        darkCount += 1;
      }
    }
  }
  let gy2 = 0;
  for (let y = 0; y < h - 1; y++) {
    const boundary = (y & 7) === 7;
    for (let x = 0; x < w; x++) {
      const d = g[(y + 1) * w + x]! - g[y * w + x]!;
      const ad = d < 0 ? -d : d;
      gy2 += d * d;
      if (boundary) {
        onBlock += ad;
        nOn += 1;
      } else {
        offBlock += ad;
        nOff += 1;
      }
    }
  }
  // Interior: Immerkær's residual and the 4-neighbour Laplacian. |residual| ≤ 16 · 255, so a counting histogram
  // gives its median exactly.
  const interior = (w - 2) * (h - 2);
  const counts = COUNTS;
  let residualSum = 0;
  let lap2 = 0;
  for (let y = 1; y < h - 1; y++) {
    const up = (y - 1) * w;
    const mid = y * w;
    const down = (y + 1) * w;
    for (let x = 1; x < w - 1; x++) {
      const c = g[mid + x]!;
      const l = g[mid + x - 1]!;
      const r = g[mid + x + 1]!;
      const u = g[up + x]!;
      const dn = g[down + x]!;
      const diag = g[up + x - 1]! + g[up + x + 1]! + g[down + x - 1]! + g[down + x + 1]!;
      const res = diag - 2 * (l + r + u + dn) + 4 * c;
      const a = res < 0 ? -res : res;
      residualSum += a;
      counts[a]! += 1;
      const lap = l + r + u + dn - 4 * c;
      lap2 += lap * lap;
    }
  }
  const median = histogramMedian(counts, interior);
  counts.fill(0);
  const s = 1 / 255;
  const gradient = (gx2 / (h * (w - 1)) + gy2 / ((h - 1) * w)) * s * s;
  const laplacian = (lap2 / interior) * s * s;
  const on = nOn > 0 ? (onBlock / nOn) * s : 0;
  const off = nOff > 0 ? (offBlock / nOff) * s : 0;
  return {
    noise: (Math.sqrt(Math.PI / 2) * residualSum * s) / (6 * interior),
    residual_median: median * s,
    zero_fraction: zeros / n,
    sharpness: laplacian / (gradient + 1e-6),
    blockiness: (on + 1e-4) / (off + 1e-4),
    dark_nonzero: lowNonzero / Math.max(low, 1),
    dark_step: darkCount > 0 ? (darkSum / darkCount) * s : 0,
  };
}

/** Median of the values a histogram counts (the mean of the two middle ones for an even total), as numpy's. */
function histogramMedian(counts: Uint32Array, total: number): number {
  const lowRank = Math.floor((total - 1) / 2);
  const highRank = Math.floor(total / 2);
  let seen = 0;
  let lowValue = -1;
  for (let v = 0; v < counts.length; v++) {
    seen += counts[v]!;
    if (lowValue < 0 && seen > lowRank) lowValue = v;
    if (seen > highRank) return (lowValue + v) / 2;
  }
  return 0;
}
