"""Writes a deliberately broken model for rollout tests: v1's network with its output logits permuted.

    python3 models/training/make_broken.py                       # models/fashion-mnist/v3-broken from v1
    python3 models/training/make_broken.py --source v2 --version v4-broken --seed 7

The weights are v1's, untouched; one Gather node on the output reorders the 10 logits by a seeded derangement
(no class keeps its index), so the model is as confident as v1 and its inputs look the same to drift metrics,
but it names the wrong class almost every time. Online accuracy against feedback is what catches it: the rollout
controller must roll it back at its first traffic step. Metrics and reference distributions are measured on the
written file with ONNX Runtime, like train.py does, and the manifest says what was done (lineage.derived_from,
notes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

import fashion_mnist as fm
import manifest as mf
import reference as ref
from fit import normalise
from onnx_model import OUTPUT_NAME, OnnxClassifier

SCRIPT = "models/training/make_broken.py"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="v1", help="version whose network is reused")
    parser.add_argument("--version", default="v3-broken", help="version to write")
    parser.add_argument("--seed", type=int, default=3, help="seed of the permutation")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for ONNX Runtime")
    parser.add_argument("--data-dir", type=Path, default=fm.DEFAULT_DIR)
    parser.add_argument("--models-dir", type=Path, default=mf.REPO_ROOT / "models" / "fashion-mnist")
    return parser.parse_args()


def derangement(n: int, seed: int) -> list[int]:
    """A seeded permutation of range(n) with no fixed point: every class moves."""
    rng = np.random.RandomState(seed)
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == np.arange(n)):
            return [int(i) for i in perm]


def permute_output(model: onnx.ModelProto, permutation: list[int]) -> onnx.ModelProto:
    """Renames the logits the network computes and adds `logits = Gather(raw, permutation, axis=1)` after them,
    so output column j is the network's column permutation[j]."""
    graph = model.graph
    raw = f"{OUTPUT_NAME}_unpermuted"
    for node in graph.node:
        node.output[:] = [raw if name == OUTPUT_NAME else name for name in node.output]
        node.input[:] = [raw if name == OUTPUT_NAME else name for name in node.input]
    indices = numpy_helper.from_array(np.asarray(permutation, dtype=np.int64), name="output_permutation")
    graph.initializer.append(indices)
    graph.node.append(helper.make_node("Gather", [raw, indices.name], [OUTPUT_NAME], name="permute_logits", axis=1))
    onnx.checker.check_model(model, full_check=True)
    return model


def main() -> None:
    args = parse_args()
    source_dir = args.models_dir / args.source
    source = json.loads((source_dir / mf.MANIFEST_FILE).read_text())
    source_path = source_dir / source["file"]
    if fm.file_sha256(source_path) != source["sha256"]:
        raise SystemExit(f"{source_path} does not match the sha256 in its manifest; refusing to derive from it")
    if source["output"]["name"] != OUTPUT_NAME:
        raise SystemExit(f"{args.source}'s output is {source['output']['name']!r}, expected {OUTPUT_NAME!r}")

    permutation = derangement(source["output"]["num_classes"], args.seed)
    out_dir = args.models_dir / args.version
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / mf.MODEL_FILE
    onnx.save(permute_output(onnx.load(str(source_path)), permutation), str(onnx_path))

    mean, std = source["input"]["mean"][0], source["input"]["std"][0]
    lineage = source["lineage"]
    _, val_split = fm.load_train_validation(args.data_dir, lineage["validation_samples"], lineage["seed"])
    test_split = fm.load_test(args.data_dir)
    classifier = OnnxClassifier(onnx_path, args.threads)
    val_probs = ref.softmax(classifier.logits(normalise(val_split.images, mean, std).numpy()))
    test_pred = classifier.logits(normalise(test_split.images, mean, std).numpy()).argmax(1)
    val_pred = val_probs.argmax(1)
    labels = source["labels"]

    manifest = {
        **source,
        "version": args.version,
        "description": (
            f"DELIBERATELY BROKEN for rollout tests: {args.source}'s network with its output logits permuted "
            "(it predicts the wrong class almost always, as confidently as the original)."
        ),
        "created_at": mf.now_iso(),
        "file": mf.MODEL_FILE,
        "sha256": fm.file_sha256(onnx_path),
        "architecture": f"{source['architecture']} + Gather(axis=1) permuting the 10 logits",
        "lineage": {
            **lineage,
            "training_script": SCRIPT,
            "code_revision": mf.code_revision(["models/training"]),
            "derived_from": {
                "model": f"{source['name']}/{args.source}",
                "sha256": source["sha256"],
                "transform": "output logits permuted by a Gather node on axis 1: output[:, j] = original[:, permutation[j]]",
                "permutation": permutation,
                "permutation_seed": args.seed,
            },
        },
        "notes": (
            "Not a model to serve. Written by models/training/make_broken.py so that tests and demos can check that "
            "a rollout rolls back a candidate whose online accuracy collapses while its inputs and confidence look "
            "normal. Weights, preprocessing and labels are the source version's; metrics and the reference "
            "distributions are measured on this file."
        ),
        "metrics": {
            "test_accuracy": ref.accuracy(test_pred, test_split.labels),
            "test_samples": len(test_split.labels),
            "validation_accuracy": ref.accuracy(val_pred, val_split.labels),
            "per_class_accuracy": ref.per_class_accuracy(test_pred, test_split.labels, labels),
        },
        "reference": {
            **source["reference"],
            "source": (
                f"held-out validation split: {len(val_split.labels)} images of the Fashion-MNIST training file "
                f"(seed {lineage['seed']}), scored with this ONNX file"
            ),
            "predicted_class": {"probabilities": ref.class_shares(val_pred, len(labels))},
            "confidence": ref.confidence_histogram(val_probs),
            "brightness": ref.histogram(ref.brightness(val_split.images)),
            "contrast": ref.histogram(ref.contrast(val_split.images)),
        },
    }
    path = mf.write(out_dir, manifest)
    print(
        f"[{args.version}] permutation {permutation}; test_accuracy {manifest['metrics']['test_accuracy']:.4f} "
        f"(from {args.source}: {source['metrics']['test_accuracy']:.4f}); wrote {onnx_path} and {path}",
        flush=True,
    )


if __name__ == "__main__":
    main()
