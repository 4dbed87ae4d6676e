"""Temperature scaling of the committed Fashion-MNIST models, written into their manifests (no retraining).

    python3 models/training/calibrate.py                     # v1, v2, v2-int8
    python3 models/training/calibrate.py --version v2 --check  # print only, write nothing

For each version the exported ONNX file scores the held-out validation split that its manifest's lineage names
(the seeded 5,000 images of the training file that train.py never trains on; it only reports their accuracy
after the last epoch, so no choice was made on them), and one temperature T is fitted by minimising the
negative log-likelihood of softmax(logits / T) (Guo et al. 2017, "On calibration of modern neural networks").
T changes no prediction, only the confidences. The manifest gains `calibration` (contract: models/manifest.ts)
with T, where it was fitted, and the expected calibration error on the official test set before and after.
Every other byte of the manifest stays as it was.

The drift monitor turns each prediction's top-k scores into a calibrated top-1 probability with T and reports
their mean per window as the expected accuracy (drift-monitor/analytics/label-free.ts).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import fashion_mnist as fm
import manifest as mf
from fit import normalise
from onnx_io import OnnxClassifier

MODEL_NAME = "fashion-mnist"
VERSIONS = ["v1", "v2", "v2-int8"]
ECE_BINS = 15
# Inverse temperatures searched; NLL is convex in 1/T, so golden-section search finds its minimum.
INVERSE_T_RANGE = (0.02, 20.0)
TEMPERATURE_DECIMALS = 4


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / T)."""
    return float(-log_softmax(logits / temperature)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tolerance: float = 1e-6) -> float:
    """The T minimising the NLL, by golden-section search over 1/T (where the NLL is convex)."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    low, high = INVERSE_T_RANGE
    f = lambda beta: nll(logits, labels, 1.0 / beta)  # noqa: E731
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = f(a), f(b)
    while high - low > tolerance:
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = f(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = f(b)
    beta = (low + high) / 2.0
    if beta <= INVERSE_T_RANGE[0] * 1.01 or beta >= INVERSE_T_RANGE[1] * 0.99:
        raise RuntimeError(f"the fitted 1/T {beta:.4f} sits at the end of the search range {INVERSE_T_RANGE}")
    return 1.0 / beta


def expected_calibration_error(logits: np.ndarray, labels: np.ndarray, temperature: float, bins: int = ECE_BINS) -> float:
    """ECE: |accuracy - mean top-1 probability| per equal-width probability bin, weighted by the bin's share."""
    probs = np.exp(log_softmax(logits / temperature))
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    correct = (predicted == labels).astype(np.float64)
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def calibration_field(version: str, data_dir: Path, threads: int) -> dict[str, object]:
    manifest_path = mf.REPO_ROOT / "models" / MODEL_NAME / version / mf.MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    lineage, spec = manifest["lineage"], manifest["input"]
    _, val_split = fm.load_train_validation(data_dir, lineage["validation_samples"], lineage["seed"])
    test_split = fm.load_test(data_dir)
    classifier = OnnxClassifier(manifest_path.parent / manifest["file"], threads)
    mean, std = spec["mean"][0], spec["std"][0]
    val_logits = classifier.logits(normalise(val_split.images, mean, std).numpy())
    test_logits = classifier.logits(normalise(test_split.images, mean, std).numpy())
    temperature = round(fit_temperature(val_logits, val_split.labels), TEMPERATURE_DECIMALS)
    print(
        f"[{version}] T {temperature}: validation NLL {nll(val_logits, val_split.labels, 1.0):.4f} -> "
        f"{nll(val_logits, val_split.labels, temperature):.4f}; test NLL {nll(test_logits, test_split.labels, 1.0):.4f} -> "
        f"{nll(test_logits, test_split.labels, temperature):.4f}",
        flush=True,
    )
    return {
        "method": "temperature",
        "temperature": temperature,
        "source": (
            f"held-out validation split: {len(val_split.labels)} images of the Fashion-MNIST training file "
            f"(seed {lineage['seed']}), scored with the exported ONNX model; NLL minimised by models/training/calibrate.py"
        ),
        "samples": len(val_split.labels),
        "test_ece_before": round(expected_calibration_error(test_logits, test_split.labels, 1.0), 4),
        "test_ece_after": round(expected_calibration_error(test_logits, test_split.labels, temperature), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", choices=[*VERSIONS, "all"], default="all")
    parser.add_argument("--data-dir", type=Path, default=fm.DEFAULT_DIR)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="print the fitted values, write nothing")
    args = parser.parse_args()
    for version in VERSIONS if args.version == "all" else [args.version]:
        field = calibration_field(version, args.data_dir, args.threads)
        print(json.dumps(field), flush=True)
        if args.check:
            continue
        directory = mf.REPO_ROOT / "models" / MODEL_NAME / version
        manifest = json.loads((directory / mf.MANIFEST_FILE).read_text())
        manifest["calibration"] = field
        mf.write(directory, manifest)


if __name__ == "__main__":
    main()
