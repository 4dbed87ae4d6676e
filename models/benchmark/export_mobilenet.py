"""Exports a randomly initialised torchvision MobileNetV2 (224x224 RGB) to ONNX with a manifest, for throughput benchmarks.

    python3 models/benchmark/export_mobilenet.py                    # -> bench/models/mobilenetv2-224/model.onnx
    python3 models/benchmark/export_mobilenet.py --out /tmp/m/model.onnx
    python3 models/benchmark/export_mobilenet.py --int8                  # also bench/models/mobilenetv2-224-int8/

The weights are random (no download, no licence questions): the model's predictions mean nothing, its
cost per image is that of the real network, which is all a speed measurement needs. The INT8 variant is
calibrated on seeded random batches for the same reason: it is measured for speed only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import manifest as mf  # noqa: E402  (shared manifest helpers live with the training code)
from fashion_mnist import file_sha256  # noqa: E402
from onnx_io import export  # noqa: E402
from quantize import quantize_int8  # noqa: E402

NAME = "mobilenetv2-224"
SIZE = 224
NUM_CLASSES = 1000
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
BINS = 10
CALIBRATION_BATCHES = 8
PLACEHOLDER_SOURCE = "placeholder: uniform distributions, not measured (randomly initialised benchmark model)"


def uniform_histogram() -> dict[str, list[float]]:
    return {"edges": [i / BINS for i in range(BINS + 1)], "probabilities": [1 / BINS] * BINS}


def build_manifest(onnx_path: Path, seed: int, precision: str = "fp32") -> dict[str, object]:
    return {
        "name": NAME,
        "version": "bench" if precision == "fp32" else f"bench-{precision}",
        "description": (
            "MobileNetV2 at 224x224 RGB with randomly initialised weights, for speed measurement only: "
            "its predictions are meaningless."
        ),
        "created_at": mf.now_iso(),
        "file": onnx_path.name,
        "sha256": file_sha256(onnx_path),
        "architecture": f"torchvision {torchvision.__version__.split('+')[0]} mobilenet_v2(weights=None)",
        "framework": mf.exporter(),
        "precision": precision,
        "input": mf.input_spec(3, SIZE, SIZE, "cover", "linear", IMAGENET_MEAN, IMAGENET_STD),
        "output": mf.output_spec(NUM_CLASSES),
        "labels": [f"class_{i}" for i in range(NUM_CLASSES)],
        "lineage": {
            "dataset": "none (random initialisation)",
            "dataset_files": {},
            "training_script": "models/benchmark/export_mobilenet.py",
            "code_revision": mf.code_revision(["models/benchmark", "models/training"]),
            "seed": seed,
            "epochs": 0,
            "train_samples": 0,
            "validation_samples": 0,
        },
        "metrics": {"test_accuracy": 0, "test_samples": 0, "validation_accuracy": 0, "per_class_accuracy": {}},
        "reference": {
            "source": PLACEHOLDER_SOURCE,
            "samples": 0,
            "predicted_class": {"probabilities": [1 / NUM_CLASSES] * NUM_CLASSES},
            "confidence": uniform_histogram(),
            "brightness": uniform_histogram(),
            "contrast": uniform_histogram(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=mf.REPO_ROOT / "bench" / "models" / NAME / mf.MODEL_FILE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--int8", action="store_true", help="also write the INT8 variant in <out folder>-int8/")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = torchvision.models.mobilenet_v2(weights=None, num_classes=NUM_CLASSES).eval()
    export(model, args.out, 3, SIZE, SIZE)
    path = mf.write(args.out.parent, build_manifest(args.out, args.seed))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) and {path}")
    if args.int8:
        out = args.out.parent.with_name(f"{args.out.parent.name}-int8") / args.out.name
        rng = np.random.default_rng(args.seed)
        batches = (rng.standard_normal((8, 3, SIZE, SIZE), dtype=np.float32) for _ in range(CALIBRATION_BATCHES))
        quantize_int8(args.out, out, batches)
        path = mf.write(out.parent, build_manifest(out, args.seed, "int8"))
        print(f"wrote {out} ({out.stat().st_size} bytes) and {path}")


if __name__ == "__main__":
    main()
