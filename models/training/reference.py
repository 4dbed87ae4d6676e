"""Pure metric and reference-distribution math (numpy only), matching the bin semantics of models/manifest.ts:
value v is in bin i when edges[i] <= v < edges[i+1]; values outside the edges clamp to the end bins."""

from __future__ import annotations

import numpy as np

EDGE_DECIMALS = 4
# Most confidences of a good model sit within 1e-3 of 1, so its deciles need finer edges there. Confidence
# travels as an Avro float (float32, spacing 6e-8 below 1): an edge 1e-6 from 1 is still resolved cleanly.
CONFIDENCE_EDGE_DECIMALS = 6
MAX_INNER_CONFIDENCE_EDGE = 0.999999


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, as serving computes it in JavaScript numbers."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def bin_index(values: np.ndarray, edges: list[float]) -> np.ndarray:
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right") - 1
    return np.clip(idx, 0, len(edges) - 2)


def shares(values: np.ndarray, edges: list[float]) -> list[float]:
    counts = np.bincount(bin_index(values, edges), minlength=len(edges) - 1)
    return (counts / counts.sum()).tolist()


def quantile_edges(
    values: np.ndarray, bins: int = 10, decimals: int = EDGE_DECIMALS, max_inner: float = 1.0
) -> list[float]:
    """Edges 0, the (k/bins)-quantiles rounded for readability, 1; duplicates dropped, then empty bins merged."""
    inner = np.round(np.quantile(values, np.arange(1, bins) / bins), decimals)
    inner = sorted({float(e) for e in inner if 0.0 < e < 1.0 and e <= max_inner})
    return _merge_empty_bins(values, [0.0, *inner, 1.0])


def _merge_empty_bins(values: np.ndarray, edges: list[float]) -> list[float]:
    """Drops the upper edge of every empty bin (the lower edge of the last bin) so every bin holds mass."""
    edges = list(edges)
    while len(edges) > 2:
        counts = np.bincount(bin_index(values, edges), minlength=len(edges) - 1)
        empty = np.flatnonzero(counts == 0)
        if empty.size == 0:
            break
        i = int(empty[0])
        del edges[i + 1 if i + 1 < len(edges) - 1 else i]
    return edges


def histogram(values: np.ndarray, decimals: int = EDGE_DECIMALS, max_inner: float = 1.0) -> dict[str, list[float]]:
    edges = quantile_edges(values, decimals=decimals, max_inner=max_inner)
    return {"edges": edges, "probabilities": shares(values, edges)}


def confidence_histogram(probabilities: np.ndarray) -> dict[str, list[float]]:
    """Of the max softmax probability, computed in float32 as it reaches the drift monitor."""
    confidence = probabilities.max(axis=1).astype(np.float32).astype(np.float64)
    return histogram(confidence, CONFIDENCE_EDGE_DECIMALS, MAX_INNER_CONFIDENCE_EDGE)


def brightness(images: np.ndarray) -> np.ndarray:
    """Mean of the model-input pixels scaled to [0, 1], per image (uint8 [n, h, w])."""
    return (images.astype(np.float64) / 255.0).reshape(len(images), -1).mean(axis=1)


def contrast(images: np.ndarray) -> np.ndarray:
    """Population standard deviation of the same pixels, per image."""
    return (images.astype(np.float64) / 255.0).reshape(len(images), -1).std(axis=1)


def class_shares(predicted: np.ndarray, num_classes: int) -> list[float]:
    counts = np.bincount(predicted, minlength=num_classes)
    return (counts / counts.sum()).tolist()


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float((predicted == labels).mean())


def per_class_accuracy(predicted: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, float]:
    return {name: accuracy(predicted[labels == i], labels[labels == i]) for i, name in enumerate(names)}
