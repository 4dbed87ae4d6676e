"""ONNX export with a dynamic batch dimension, and inference on the exported file with ONNX Runtime.

Not named onnx_model.py: onnxruntime.quantization loads onnxruntime.transformers, which imports a top-level
module of that name.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def export(model: nn.Module, path: Path, channels: int, height: int, width: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    example = torch.zeros(1, channels, height, width, dtype=torch.float32)
    # torch >= 2.5 defaults to the dynamo exporter; Debian's torch 1.13 has only the TorchScript one (no such flag).
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=OPSET,
        do_constant_folding=True,
        **legacy,
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


class OnnxClassifier:
    """Runs the exported file on CPU, so metrics and references describe the artifact that is served."""

    def __init__(self, path: Path, threads: int):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def logits(self, inputs: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """inputs: float32 NCHW, already normalised."""
        parts = [
            self._session.run([OUTPUT_NAME], {INPUT_NAME: inputs[start : start + batch_size]})[0]
            for start in range(0, len(inputs), batch_size)
        ]
        return np.concatenate(parts)
