"""Writing manifest.json per the contract in models/manifest.ts, and the provenance facts it records."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import torch

from onnx_io import INPUT_NAME, OPSET, OUTPUT_NAME

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.onnx"


def code_revision(paths: list[str]) -> str:
    """HEAD's commit, suffixed '+dirty' when the given paths hold uncommitted changes (so the record stays honest)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if status else head


def exporter() -> dict[str, object]:
    return {"exporter": f"torch.onnx {torch.__version__.split('+')[0]}", "opset": OPSET}


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def input_spec(
    channels: int, width: int, height: int, resize: str, kernel: str, mean: list[float], std: list[float]
) -> dict[str, object]:
    return {
        "name": INPUT_NAME,
        "shape": [-1, channels, height, width],
        "layout": "NCHW",
        "channels": channels,
        "width": width,
        "height": height,
        "resize": resize,
        "kernel": kernel,
        "scale": 255,
        "mean": mean,
        "std": std,
        "dtype": "float32",
    }


def output_spec(num_classes: int) -> dict[str, object]:
    return {"name": OUTPUT_NAME, "kind": "logits", "num_classes": num_classes}


def write(directory: Path, manifest: dict[str, object]) -> Path:
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
