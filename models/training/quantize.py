"""INT8 variants of served models: ONNX Runtime static quantization, calibrated on held-out data.

    python3 models/training/quantize.py                  # models/fashion-mnist/v2 -> models/fashion-mnist/v2-int8

The Fashion-MNIST variant is calibrated on v2's validation split (the same seeded 5,000 images the manifest
names) and its test accuracy, per-class accuracy and drift references are measured on the quantized file
through ONNX Runtime, like train.py does for the float models. `quantize_int8` is shared with
models/benchmark/export_mobilenet.py.

Weights are int8 per output channel in 7 bits (reduce_range), activations uint8 per tensor (QDQ format, which
ONNX Runtime fuses into integer kernels). With full 8-bit weights, CPUs without VNNI (AVX2 only) saturate the
uint8 x int8 pair sums of their integer kernels: the first v2-int8, quantized on a VNNI machine, served 89.69 % on
an AVX2-only AMD EPYC against 93.11 % where it was made. ONNX Runtime's quantization guide recommends
reduce_range for such CPUs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

import fashion_mnist as fm
import manifest as mf
from fit import normalise
from onnx_io import INPUT_NAME, OnnxClassifier
from train import measured_fields

QUANTIZE_SCRIPT = "models/training/quantize.py"
CALIBRATION_BATCH = 100


class Batches(CalibrationDataReader):
    def __init__(self, batches: Iterable[np.ndarray]):
        self._batches = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def quantize_int8(fp32_path: Path, out_path: Path, calibration: Iterable[np.ndarray]) -> None:
    """Writes the INT8 model; `calibration`: float32 batches, already normalised as serving does."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference and graph folding first, as ONNX Runtime's quantization guide recommends.
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out_path),
            Batches(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=mf.REPO_ROOT / "models" / "fashion-mnist" / "v2")
    parser.add_argument("--version", default="v2-int8")
    parser.add_argument("--data-dir", type=Path, default=fm.DEFAULT_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    source = json.loads((args.source / mf.MANIFEST_FILE).read_text())
    seed, validation_size = source["lineage"]["seed"], source["lineage"]["validation_samples"]
    mean, std = source["input"]["mean"][0], source["input"]["std"][0]
    splits = (*fm.load_train_validation(args.data_dir, validation_size, seed), fm.load_test(args.data_dir))
    _, val_split, test_split = splits
    val_inputs = normalise(val_split.images, mean, std).numpy()

    out_dir = args.source.parent / args.version
    onnx_path = out_dir / mf.MODEL_FILE
    batches = (val_inputs[i : i + CALIBRATION_BATCH] for i in range(0, len(val_inputs), CALIBRATION_BATCH))
    quantize_int8(args.source / source["file"], onnx_path, batches)

    classifier = OnnxClassifier(onnx_path, args.threads)
    val_logits = classifier.logits(val_inputs)
    test_logits = classifier.logits(normalise(test_split.images, mean, std).numpy())
    manifest = {
        **source,
        "version": args.version,
        "description": f"{source['description']} INT8 static quantization of {source['version']} "
        f"(per-channel int8 weights in 7 bits, uint8 activations), calibrated on its validation split.",
        "created_at": mf.now_iso(),
        "file": mf.MODEL_FILE,
        "sha256": fm.file_sha256(onnx_path),
        "framework": {"exporter": f"onnxruntime.quantization {ort.__version__}", "opset": source["framework"]["opset"]},
        "precision": "int8",
        "lineage": {
            **source["lineage"],
            "training_script": QUANTIZE_SCRIPT,
            "code_revision": mf.code_revision(["models/training"]),
            "quantized_from": {"version": source["version"], "sha256": source["sha256"]},
        },
        **measured_fields(splits, val_logits, test_logits, seed),
    }
    path = mf.write(out_dir, manifest)
    accuracy, fp32 = manifest["metrics"]["test_accuracy"], source["metrics"]["test_accuracy"]
    print(
        f"[{args.version}] test_accuracy {accuracy:.4f} ({(accuracy - fp32) * 100:+.2f} points against "
        f"{source['version']}); wrote {onnx_path} ({onnx_path.stat().st_size} bytes) and {path}"
    )


if __name__ == "__main__":
    main()
