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
their mean per window as the expected accuracy (drift-monitor/analytics/label-free.ts). For the other estimators
it compares, the same validation predictions, seen as the drift monitor sees them (the top 5 float32 scores, the
other classes sharing the rest evenly, re-tempered with T), also give the validation accuracy, their mean
calibrated top-1 probability (Difference of Confidences) and the Average Thresholded Confidence thresholds
(Garg et al., ICLR 2022): for the calibrated top-1 probability and for the negative entropy of the calibrated
distribution, the threshold above which the share of validation predictions equals the validation accuracy.

The calibration also gains `correctness` (models/training/correctness.py): a logistic model of P(correct) from the
calibrated top-1 probability and per-image quality features, fitted on the same validation split under a randomized
covariate-shift suite whose severities avoid those drift-monitor/evaluation/shifts.ts evaluates. The drift monitor
uses it, where present, instead of the mean calibrated probability. `--no-correctness` leaves it out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import correctness as cm
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
# The drift monitor sees the top TOP_K scores of each prediction (the inference consumers' default).
SERVED_TOP_K = 5
THRESHOLD_DECIMALS = 6


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


def served_scores(logits: np.ndarray, temperature: float, k: int = SERVED_TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated top-1 probability and negative entropy per row, as drift-monitor/analytics/label-free.ts computes
    them from the served top-k float32 probabilities (the classes outside the top k share the rest evenly, each at
    most the k-th score; each probability re-tempered as p^(1/T) and renormalised)."""
    p = np.exp(log_softmax(logits)).astype(np.float32).astype(np.float64)
    top = -np.sort(-p, axis=1)[:, :k]
    missing = p.shape[1] - k
    rest = np.maximum(0.0, 1.0 - top.sum(axis=1))
    best = top[:, 0]
    beta = 1.0 / temperature

    def term(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
        safe = np.where(q > 0, q, 1.0)
        return np.where(q > 0, np.exp(beta * np.log(safe / scale)), 0.0)

    terms = term(top, best[:, None])
    tail = term(np.minimum(rest / missing, top[:, -1]), best) if missing > 0 else np.zeros(len(top))
    denominator = terms.sum(axis=1) + missing * tail
    q_top, q_tail = terms / denominator[:, None], tail / denominator
    plogp = lambda q: np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)  # noqa: E731
    return q_top[:, 0], plogp(q_top).sum(axis=1) + missing * plogp(q_tail)


def atc_threshold(scores: np.ndarray, accuracy: float) -> float:
    """The threshold t with share(scores > t) = accuracy (to 1/n): halfway between the k-th and (k+1)-th largest."""
    ordered = np.sort(scores)[::-1]
    k = min(max(int(round(accuracy * len(ordered))), 1), len(ordered) - 1)
    return float((ordered[k - 1] + ordered[k]) / 2.0)


def calibration_field(version: str, data_dir: Path, threads: int, with_correctness: bool = True) -> dict[str, object]:
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
    val_correct = (val_logits.argmax(axis=1) == val_split.labels).astype(np.float64)
    accuracy = float(val_correct.mean())
    probability, negative_entropy = served_scores(val_logits, temperature)
    thresholds = {
        "atc_max_probability_threshold": round(atc_threshold(probability, accuracy), THRESHOLD_DECIMALS),
        "atc_negative_entropy_threshold": round(atc_threshold(negative_entropy, accuracy), THRESHOLD_DECIMALS),
    }
    print(
        f"[{version}] validation accuracy {accuracy:.4f}, mean calibrated top-1 probability {probability.mean():.4f}; "
        f"ATC share above: max probability {(probability > thresholds['atc_max_probability_threshold']).mean():.4f}, "
        f"negative entropy {(negative_entropy > thresholds['atc_negative_entropy_threshold']).mean():.4f}",
        flush=True,
    )
    field: dict[str, object] = {
        "method": "temperature",
        "temperature": temperature,
        "source": (
            f"held-out validation split: {len(val_split.labels)} images of the Fashion-MNIST training file "
            f"(seed {lineage['seed']}), scored with the exported ONNX model; NLL minimised by models/training/calibrate.py"
        ),
        "samples": len(val_split.labels),
        "test_ece_before": round(expected_calibration_error(test_logits, test_split.labels, 1.0), 4),
        "test_ece_after": round(expected_calibration_error(test_logits, test_split.labels, temperature), 4),
        "scores_top_k": SERVED_TOP_K,
        "validation_accuracy": round(accuracy, THRESHOLD_DECIMALS),
        "validation_mean_probability": round(float(probability.mean()), THRESHOLD_DECIMALS),
        **thresholds,
    }
    if with_correctness:
        field["correctness"] = correctness_field(version, classifier, val_split, mean, std, temperature, lineage["seed"])
    return field


def correctness_field(version: str, classifier: OnnxClassifier, val_split: fm.Split, mean: float, std: float, temperature: float, seed: int) -> dict[str, object]:
    """The correctness model on the validation split under the shift suite (correctness.py)."""

    def score(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = classifier.logits(normalise(images, mean, std).numpy())
        probability, _ = served_scores(logits, temperature)
        return probability, logits.argmax(axis=1)

    features, predicted, correct = cm.suite(val_split.images, val_split.labels, score)
    model = cm.fit(features, predicted, correct)
    p = cm.predict(model, features, predicted)
    print(f"[{version}] correctness model: {len(model['terms'])} terms, suite accuracy {correct.mean():.4f}, mean P(correct) {p.mean():.4f}", flush=True)
    return {
        **model,
        "source": (
            f"held-out validation split ({len(val_split.labels)} images, seed {seed}) under a randomized covariate-shift suite: "
            f"{cm.WINDOWS} windows of {cm.WINDOW_SIZE}, families {', '.join(cm.FAMILIES)}, severities away from the evaluated ones "
            f"(suite seed {cm.SUITE_SEED}); logistic regression by models/training/correctness.py"
        ),
        "samples": int(len(correct)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", choices=[*VERSIONS, "all"], default="all")
    parser.add_argument("--data-dir", type=Path, default=fm.DEFAULT_DIR)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="print the fitted values, write nothing")
    parser.add_argument("--no-correctness", action="store_true", help="leave out the correctness model (fitting it takes minutes)")
    args = parser.parse_args()
    for version in VERSIONS if args.version == "all" else [args.version]:
        field = calibration_field(version, args.data_dir, args.threads, not args.no_correctness)
        print(json.dumps(field), flush=True)
        if args.check:
            continue
        directory = mf.REPO_ROOT / "models" / MODEL_NAME / version
        manifest = json.loads((directory / mf.MANIFEST_FILE).read_text())
        manifest["calibration"] = field
        mf.write(directory, manifest)


if __name__ == "__main__":
    main()
