"""Per-prediction correctness model for the drift monitor's label-free accuracy estimate (issue 16).

P(prediction correct) = sigmoid(intercept + sum of terms + class offset), the terms functions of the calibrated
top-1 probability and of per-image quality features the inference consumer computes from the model-input pixels
(models/runtime/preprocess/image-quality.ts; `quality` below is the same arithmetic in numpy: keep them in step).
The mean of these probabilities over a window is its expected accuracy (drift-monitor/analytics/label-free.ts).

Fitted only on the held-out validation split under a randomized covariate-shift suite, never on the test set:
1,800 windows of 500 validation images (drawn with replacement across windows), each window one family at one
random severity: clean, darken, brighten, Gaussian noise, Gaussian blur, JPEG, contrast reduction,
salt-and-pepper, downscale-upscale. Severities avoid those drift-monitor/evaluation/shifts.ts evaluates
(dark x0.7/0.5/0.3, noise sd 10/20/40, blur sigma 0.5/1/1.5, JPEG q 30/15/8), so the evaluation is not a lookup.
Logistic regression by IRLS (ridge 1e-5 per row on standardised columns); the terms: each feature linear, hinges
max(0, x - k) at its 10/30/50/70/90 % quantiles over the suite, the logit probability times each image feature but
zero fraction and dark-pixel share, and one offset per predicted class. Coefficients are stored unstandardised.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image

FEATURES = [
    "logit_probability", "brightness", "contrast", "noise", "zero_fraction", "log_sharpness", "log_blockiness",
    "residual_median", "dark_nonzero", "dark_step",
]
HINGED = FEATURES
INTERACTING = ["brightness", "contrast", "noise", "log_sharpness", "log_blockiness", "dark_step", "residual_median"]
KNOT_QUANTILES = [0.1, 0.3, 0.5, 0.7, 0.9]
FAMILIES = ["clean", "dark", "bright", "noise", "blur", "jpeg", "contrast", "saltpepper", "downup"]
WINDOWS = 1800
WINDOW_SIZE = 500
SUITE_SEED = 7
RIDGE = 1e-5
DECIMALS = 8
PROBABILITY_CLIP = 1e-6


# --- quality features (image-quality.ts) -------------------------------------------------------------------
def quality(images: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 [n, h, w] grey images (28x28 here) -> the features of ImageQuality, plus brightness and contrast."""
    x = images.astype(np.float64) / 255.0
    n, h, w = x.shape
    flat = x.reshape(n, -1)
    brightness = flat.mean(1)
    contrast = np.sqrt(np.maximum(0.0, (flat * flat).mean(1) - brightness * brightness))
    residual = (
        x[:, :-2, :-2] - 2 * x[:, :-2, 1:-1] + x[:, :-2, 2:]
        - 2 * x[:, 1:-1, :-2] + 4 * x[:, 1:-1, 1:-1] - 2 * x[:, 1:-1, 2:]
        + x[:, 2:, :-2] - 2 * x[:, 2:, 1:-1] + x[:, 2:, 2:]
    )
    absolute = np.abs(residual).reshape(n, -1)
    interior = (h - 2) * (w - 2)
    gx = x[:, :, 1:] - x[:, :, :-1]
    gy = x[:, 1:, :] - x[:, :-1, :]
    gradient = (gx**2).reshape(n, -1).mean(1) + (gy**2).reshape(n, -1).mean(1)
    lap = x[:, 1:-1, :-2] + x[:, 1:-1, 2:] + x[:, :-2, 1:-1] + x[:, 2:, 1:-1] - 4 * x[:, 1:-1, 1:-1]
    laplacian = (lap**2).reshape(n, -1).mean(1)
    bx = (np.arange(w - 1) % 8) == 7
    by = (np.arange(h - 1) % 8) == 7
    on = (np.abs(gx[:, :, bx]).reshape(n, -1).sum(1) + np.abs(gy[:, by, :]).reshape(n, -1).sum(1)) / (bx.sum() * h + by.sum() * w)
    off = (np.abs(gx[:, :, ~bx]).reshape(n, -1).sum(1) + np.abs(gy[:, ~by, :]).reshape(n, -1).sum(1)) / ((~bx).sum() * h + (~by).sum() * w)
    pixels = images.reshape(n, -1)
    low = pixels <= 63
    dark = (images[:, :, 1:] <= 76) & (images[:, :, :-1] <= 76)
    dark_count = dark.reshape(n, -1).sum(1)
    return {
        "brightness": brightness,
        "contrast": contrast,
        "noise": np.sqrt(np.pi / 2) * absolute.sum(1) / (6 * interior),
        "residual_median": np.median(absolute, axis=1),
        "zero_fraction": (pixels == 0).mean(1),
        "sharpness": laplacian / (gradient + 1e-6),
        "blockiness": (on + 1e-4) / (off + 1e-4),
        "dark_nonzero": ((pixels > 0) & low).sum(1) / np.maximum(low.sum(1), 1),
        "dark_step": np.where(dark_count > 0, (np.abs(gx) * dark).reshape(n, -1).sum(1) / np.maximum(dark_count, 1), 0.0),
    }


def model_features(probability: np.ndarray, q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The correctness model's inputs (label-free.ts correctnessFeatures)."""
    p = np.clip(probability, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    f = {k: q[k] for k in ["brightness", "contrast", "noise", "zero_fraction", "residual_median", "dark_nonzero", "dark_step"]}
    f["logit_probability"] = np.log(p / (1 - p))
    f["log_sharpness"] = np.log(np.maximum(q["sharpness"], 1e-6))
    f["log_blockiness"] = np.log(q["blockiness"])
    return f


# --- the shift suite -------------------------------------------------------------------------------------
def _round(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    r = int(np.ceil(3 * sigma))
    k = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma * sigma))
    k /= k.sum()
    x = images.astype(np.float64)
    idx = np.clip(np.arange(x.shape[-1])[:, None] + np.arange(-r, r + 1)[None, :], 0, x.shape[-1] - 1)
    x = np.einsum("nyxk,k->nyx", x[:, :, idx], k)
    x = np.einsum("nykx,k->nyx", x[:, idx, :], k)
    return _round(x)


def _jpeg(images: np.ndarray, q: int) -> np.ndarray:
    out = []
    for im in images:
        buffer = io.BytesIO()
        Image.fromarray(im).save(buffer, "JPEG", quality=int(q))
        out.append(np.array(Image.open(io.BytesIO(buffer.getvalue())).convert("L")))
    return np.stack(out)


def corrupt(images: np.ndarray, family: str, severity: float, rng: np.random.Generator) -> np.ndarray:
    if family == "clean":
        return images
    if family in ("dark", "bright"):
        return _round(images * severity)
    if family == "noise":
        return _round(images + severity * rng.standard_normal(images.shape))
    if family == "blur":
        return _blur(images, severity)
    if family == "jpeg":
        return _jpeg(images, int(severity))
    if family == "contrast":
        m = images.mean(axis=(1, 2), keepdims=True)
        return _round(m + (images - m) * severity)
    if family == "saltpepper":
        u = rng.random(images.shape)
        x = images.copy()
        x[u < severity / 2] = 0
        x[(u >= severity / 2) & (u < severity)] = 255
        return x
    if family == "downup":
        s = int(severity)
        return np.stack([np.array(Image.fromarray(im).resize((s, s), Image.BILINEAR).resize(im.shape[::-1], Image.BILINEAR)) for im in images])
    raise ValueError(family)


def sample_severity(family: str, rng: np.random.Generator) -> float:
    """A random severity of the family, away from the severities the evaluation uses."""
    avoid = lambda v, bad, tol: all(abs(v - b) > tol for b in bad)  # noqa: E731
    while True:
        if family == "dark":
            v = rng.uniform(0.15, 0.95)
            ok = avoid(v, [0.3, 0.5, 0.7], 0.04)
        elif family == "bright":
            v, ok = rng.uniform(1.1, 1.8), True
        elif family == "noise":
            v = rng.uniform(3, 60)
            ok = avoid(v, [10, 20, 40], 2.5)
        elif family == "blur":
            v = rng.uniform(0.3, 2.2)
            ok = avoid(v, [0.5, 1, 1.5], 0.08)
        elif family == "jpeg":
            v = int(rng.integers(4, 61))
            ok = avoid(v, [8, 15, 30], 1.5)
        elif family == "contrast":
            v, ok = rng.uniform(0.3, 0.9), True
        elif family == "saltpepper":
            v, ok = rng.uniform(0.005, 0.08), True
        elif family == "downup":
            v, ok = int(rng.integers(12, 25)), True
        else:
            v, ok = 0.0, True
        if ok:
            return float(v)


# --- the logistic model ----------------------------------------------------------------------------------
def _columns(f: dict[str, np.ndarray], predicted: np.ndarray, knots: dict[str, list[float]]) -> tuple[np.ndarray, list[dict[str, object]]]:
    cols, terms = [], []
    for k in FEATURES:
        cols.append(f[k])
        terms.append({"feature": k})
    for k in HINGED:
        for t in knots[k]:
            cols.append(np.maximum(0.0, f[k] - t))
            terms.append({"feature": k, "hinge_at": t})
    for k in INTERACTING:
        cols.append(f[k] * f["logit_probability"])
        terms.append({"feature": k, "times": "logit_probability"})
    for c in range(1, 10):
        cols.append((predicted == c).astype(np.float64))
    return np.stack(cols, 1), terms


def _irls(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE, iterations: int = 100) -> tuple[float, np.ndarray]:
    mu, sd = x.mean(0), x.std(0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    z = np.concatenate([np.ones((len(z), 1)), z], 1)
    w = np.zeros(z.shape[1])
    penalty = ridge * len(y) * np.r_[0.0, np.ones(z.shape[1] - 1)]
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + np.diag(penalty)
        step = np.linalg.solve(hessian, z.T @ (p - y) + penalty * w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    coef = w[1:] / sd
    return float(w[0] - (coef * mu).sum()), coef


def suite(images: np.ndarray, labels: np.ndarray, score: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], windows: int = WINDOWS, seed: int = SUITE_SEED):
    """Features, predicted class and correctness of every prediction of the suite; score: uint8 images ->
    (calibrated top-1 probability as served, predicted class)."""
    rng = np.random.default_rng(seed)
    parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = []
    for g in range(windows):
        family = FAMILIES[g % len(FAMILIES)]
        severity = sample_severity(family, rng)
        idx = rng.choice(len(labels), WINDOW_SIZE, replace=False)
        shifted = corrupt(images[idx], family, severity, rng)
        probability, predicted = score(shifted)
        parts.append((model_features(probability, quality(shifted)), predicted, (predicted == labels[idx]).astype(np.float64)))
    f = {k: np.concatenate([p[0][k] for p in parts]) for k in FEATURES}
    return f, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])


def fit(f: dict[str, np.ndarray], predicted: np.ndarray, correct: np.ndarray) -> dict[str, object]:
    knots = {k: [round(float(t), 6) for t in np.quantile(f[k], KNOT_QUANTILES)] for k in HINGED}
    x, terms = _columns(f, predicted, knots)
    intercept, coef = _irls(x, correct)
    n_terms = len(terms)
    sig = lambda v: float(f"{v:.{DECIMALS}g}")  # noqa: E731
    return {
        "method": "logistic",
        "features": FEATURES,
        "intercept": sig(intercept),
        "terms": [{**t, "coefficient": sig(c)} for t, c in zip(terms, coef[:n_terms])],
        "class_offsets": [0.0, *[sig(c) for c in coef[n_terms:]]],
    }


def predict(model: dict[str, object], f: dict[str, np.ndarray], predicted: np.ndarray) -> np.ndarray:
    """P(correct) under a fitted model (as label-free.ts computes it)."""
    z = np.full(len(predicted), float(model["intercept"]))
    for t in model["terms"]:
        v = f[t["feature"]]
        if "hinge_at" in t:
            v = np.maximum(0.0, v - t["hinge_at"])
        if "times" in t:
            v = v * f[t["times"]]
        z += t["coefficient"] * v
    z += np.asarray(model["class_offsets"])[predicted]
    return 1 / (1 + np.exp(-z))
