"""Trains the Fashion-MNIST classifiers, exports them to ONNX and writes their manifests.

    python3 models/training/train.py                 # both versions, recipe epochs
    python3 models/training/train.py --version v2 --epochs 3

Writes models/fashion-mnist/<version>/{model.onnx,manifest.json}. Metrics and reference distributions are
computed with the exported ONNX file through ONNX Runtime, so they describe exactly what serving loads.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import fashion_mnist as fm
import manifest as mf
import reference as ref
from architectures import RECIPES, Recipe
from fit import normalise, train
from onnx_io import OnnxClassifier, export

MODEL_NAME = "fashion-mnist"
TRAINING_SCRIPT = "models/training/train.py"
SIZE = 28
# Stats are rounded before training so the manifest holds exactly the values the model was trained with.
STAT_DECIMALS = 4
# Torch and ONNX Runtime sum in different orders; more than this means the export is wrong, not rounding.
MAX_LOGIT_DIFFERENCE = 1e-3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", choices=[*RECIPES, "all"], default="all")
    parser.add_argument("--epochs", type=int, help="override the recipe's epoch count")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--validation-size", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch and ONNX Runtime")
    parser.add_argument("--data-dir", type=Path, default=fm.DEFAULT_DIR)
    parser.add_argument("--out-dir", type=Path, default=mf.REPO_ROOT / "models" / MODEL_NAME)
    return parser.parse_args()


def check_export(
    model: torch.nn.Module, classifier: OnnxClassifier, onnx_logits: np.ndarray, inputs: torch.Tensor
) -> None:
    """The export must match torch, and give the same answers one image at a time as in a batch of 32."""
    with torch.no_grad():
        torch_logits = model(inputs).numpy()
    difference = float(np.abs(torch_logits - onnx_logits).max())
    singles = classifier.logits(inputs[:32].numpy(), batch_size=1)
    batched = classifier.logits(inputs[:32].numpy(), batch_size=32)
    batch_difference = float(np.abs(singles - batched).max())
    if max(difference, batch_difference) > MAX_LOGIT_DIFFERENCE:
        raise RuntimeError(
            f"logits differ: torch vs ONNX {difference:.2e}, ONNX batch 1 vs 32 {batch_difference:.2e}; "
            "the export is not faithful"
        )
    print(f"  max |logit difference| on validation: torch vs onnx {difference:.2e}, batch 1 vs 32 {batch_difference:.2e}")


def build_manifest(
    version: str,
    recipe: Recipe,
    args: argparse.Namespace,
    epochs: int,
    onnx_path: Path,
    stats: tuple[float, float],
    splits: tuple[fm.Split, fm.Split, fm.Split],
    val_logits: np.ndarray,
    test_logits: np.ndarray,
) -> dict[str, object]:
    return {
        "name": MODEL_NAME,
        "version": version,
        "description": recipe.description,
        "created_at": mf.now_iso(),
        "file": mf.MODEL_FILE,
        "sha256": fm.file_sha256(onnx_path),
        "architecture": recipe.architecture,
        "framework": mf.exporter(),
        "precision": "fp32",
        "input": mf.input_spec(1, SIZE, SIZE, "fill", "lanczos3", [stats[0]], [stats[1]]),
        "output": mf.output_spec(len(fm.LABELS)),
        "labels": fm.LABELS,
        "lineage": lineage(args, epochs, splits),
        **measured_fields(splits, val_logits, test_logits, args.seed),
    }


def lineage(args: argparse.Namespace, epochs: int, splits: tuple[fm.Split, fm.Split, fm.Split]) -> dict[str, object]:
    train_split, val_split, _ = splits
    return {
        "dataset": f"Fashion-MNIST (Debian {fm.DEBIAN_PACKAGE} {fm.debian_package_version()})",
        "dataset_files": fm.dataset_checksums(args.data_dir),
        "training_script": TRAINING_SCRIPT,
        "code_revision": mf.code_revision(["models/training"]),
        "seed": args.seed,
        "epochs": epochs,
        "train_samples": len(train_split.labels),
        "validation_samples": len(val_split.labels),
    }


def measured_fields(
    splits: tuple[fm.Split, fm.Split, fm.Split], val_logits: np.ndarray, test_logits: np.ndarray, seed: int
) -> dict[str, object]:
    """The manifest's metrics and drift references, from the served ONNX file's logits."""
    _, val_split, test_split = splits
    val_probs = ref.softmax(val_logits)
    val_pred, test_pred = val_probs.argmax(1), test_logits.argmax(1)
    return {
        "metrics": {
            "test_accuracy": ref.accuracy(test_pred, test_split.labels),
            "test_samples": len(test_split.labels),
            "validation_accuracy": ref.accuracy(val_pred, val_split.labels),
            "per_class_accuracy": ref.per_class_accuracy(test_pred, test_split.labels, fm.LABELS),
        },
        "reference": {
            "source": (
                f"held-out validation split: {len(val_split.labels)} images of the Fashion-MNIST training file "
                f"(seed {seed}), scored with the exported ONNX model"
            ),
            "samples": len(val_split.labels),
            "predicted_class": {"probabilities": ref.class_shares(val_pred, len(fm.LABELS))},
            "confidence": ref.confidence_histogram(val_probs),
            "brightness": ref.histogram(ref.brightness(val_split.images)),
            "contrast": ref.histogram(ref.contrast(val_split.images)),
        },
    }


def run_version(version: str, args: argparse.Namespace, splits: tuple[fm.Split, fm.Split, fm.Split]) -> None:
    recipe = RECIPES[version]
    epochs = args.epochs or recipe.epochs
    train_split, val_split, test_split = splits
    mean, std = (round(v, STAT_DECIMALS) for v in fm.pixel_mean_std(train_split.images))
    print(f"[{version}] {recipe.architecture}; {epochs} epochs; mean {mean} std {std}", flush=True)
    model, _ = train(recipe, train_split, val_split, mean, std, args.seed, epochs, version)

    out_dir = args.out_dir / version
    onnx_path = out_dir / mf.MODEL_FILE
    export(model, onnx_path, 1, SIZE, SIZE)
    classifier = OnnxClassifier(onnx_path, args.threads)
    val_inputs = normalise(val_split.images, mean, std)
    val_logits = classifier.logits(val_inputs.numpy())
    test_logits = classifier.logits(normalise(test_split.images, mean, std).numpy())
    check_export(model, classifier, val_logits, val_inputs)

    manifest = build_manifest(
        version, recipe, args, epochs, onnx_path, (mean, std), splits, val_logits, test_logits
    )
    manifest_path = mf.write(out_dir, manifest)
    metrics = manifest["metrics"]
    print(
        f"[{version}] test_accuracy {metrics['test_accuracy']:.4f} validation_accuracy "
        f"{metrics['validation_accuracy']:.4f}; wrote {onnx_path} ({onnx_path.stat().st_size} bytes) and {manifest_path}",
        flush=True,
    )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    train_split, val_split = fm.load_train_validation(args.data_dir, args.validation_size, args.seed)
    splits = (train_split, val_split, fm.load_test(args.data_dir))
    versions = list(RECIPES) if args.version == "all" else [args.version]
    started = time.monotonic()
    for version in versions:
        run_version(version, args, splits)
    print(f"done: {', '.join(versions)} in {time.monotonic() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()
