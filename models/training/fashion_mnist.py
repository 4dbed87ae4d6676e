"""Fashion-MNIST as shipped by Debian's dataset-fashion-mnist package: reading, checksums, splits."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

LABELS = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

_IDX_UBYTE = 0x08


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8 [n, 28, 28]
    labels: np.ndarray  # int64 [n]
    indices: np.ndarray  # positions in the source file, for traceability


def read_idx(path: Path) -> np.ndarray:
    """Reads a gzipped IDX file of unsigned bytes (the MNIST format) into an array of its declared shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype != _IDX_UBYTE:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (header {data[:4].hex()}); is the dataset file intact?")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {body.size} bytes but its header declares shape {shape}; the file is truncated")
    return body.reshape(shape)


def require_files(directory: Path) -> dict[str, Path]:
    paths = {key: directory / name for key, name in FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST files not found: {', '.join(missing)}. "
            f"Install them with `apt-get install {DEBIAN_PACKAGE}` or pass --data-dir."
        )
    return paths


def load_test(directory: Path = DEFAULT_DIR) -> Split:
    paths = require_files(directory)
    images = read_idx(paths["test_images"])
    labels = read_idx(paths["test_labels"]).astype(np.int64)
    return Split(images, labels, np.arange(len(labels)))


def load_train_validation(directory: Path, validation_size: int, seed: int) -> tuple[Split, Split]:
    """Holds out a seeded random validation subset of the official training file."""
    paths = require_files(directory)
    images = read_idx(paths["train_images"])
    labels = read_idx(paths["train_labels"]).astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    val_idx, train_idx = np.sort(order[:validation_size]), np.sort(order[validation_size:])
    return (
        Split(images[train_idx], labels[train_idx], train_idx),
        Split(images[val_idx], labels[val_idx], val_idx),
    )


def pixel_mean_std(images: np.ndarray) -> tuple[float, float]:
    """Mean and population std of all pixels scaled to [0, 1]."""
    scaled = images.astype(np.float64) / 255.0
    return float(scaled.mean()), float(scaled.std())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_checksums(directory: Path) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in require_files(directory).values()}


def debian_package_version() -> str:
    """The installed package version, or 'unknown' where dpkg is absent (files copied from elsewhere)."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", DEBIAN_PACKAGE], capture_output=True, text=True, check=True
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
