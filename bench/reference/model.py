"""The model as the reference consumer runs it: the manifest's preprocessing (preprocess.py), one onnxruntime call
per batch (in calls of N for a model exported with a fixed batch N), and the manifest's output read as scores."""
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from preprocess import preprocess


class ReferenceModel:
    def __init__(self, folder, resize_with):
        self.manifest = json.loads((Path(folder) / "manifest.json").read_text())
        self.spec, self.output, self.labels = self.manifest["input"], self.manifest["output"], self.manifest["labels"]
        self.resize_with = resize_with
        self.session = ort.InferenceSession(str(Path(folder) / self.manifest["file"]), providers=["CPUExecutionProvider"])
        self.fixed_batch = max(0, self.spec["shape"][0])

    def prepare(self, path):
        """The input tensor of one image file and its input statistics."""
        tensor, stats = preprocess(path, self.spec, self.resize_with)
        return tensor, {**stats, "bytes": Path(path).stat().st_size}

    def scores(self, tensors):
        """One row of class scores per tensor."""
        return self._scores(self._run(np.stack(tensors)))

    def _run(self, batch):
        call = lambda x: self.session.run([self.output["name"]], {self.spec["name"]: x})[0]  # noqa: E731
        if not self.fixed_batch:
            return call(batch)
        rows = []
        for start in range(0, len(batch), self.fixed_batch):
            part = batch[start:start + self.fixed_batch]
            filler = np.zeros((self.fixed_batch - len(part),) + part.shape[1:], dtype=part.dtype)
            rows.append(call(np.concatenate([part, filler]))[:len(part)])
        return np.concatenate(rows)

    def _scores(self, raw):
        raw = raw.astype(np.float64)
        if self.output["kind"] == "probabilities":
            return raw
        if self.output["kind"] == "sigmoid":
            return 1 / (1 + np.exp(-raw))
        scores = np.exp(raw - raw.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)
