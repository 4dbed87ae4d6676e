"""The reference consumer's preprocessing and model on a folder of images, without Kafka, for the bench to check
that the reference is faithful to a model's authors before timing it (their outputs: models/third-party/reference.py).

    python bench/reference/score.py --model DIR --resize-with opencv --images DIR --out FILE.jsonl

Writes one JSON line per image, as reference.py does: {"image", "top1", "index", "score", "probabilities"}.
"""
import argparse
import json
from pathlib import Path

from model import ReferenceModel
from preprocess import RESIZE_WITH

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True, help="folder with manifest.json and the ONNX file")
parser.add_argument("--resize-with", choices=RESIZE_WITH, default="pillow")
parser.add_argument("--images", type=Path, required=True)
parser.add_argument("--out", type=Path, required=True)
parser.add_argument("--batch", type=int, default=32)
args = parser.parse_args()

runner = ReferenceModel(args.model, args.resize_with)
files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
with open(args.out, "w") as out:
    for start in range(0, len(files), args.batch):
        chunk = files[start:start + args.batch]
        for path, row in zip(chunk, runner.scores([runner.prepare(str(p))[0] for p in chunk])):
            index = int(row.argmax())
            out.write(json.dumps({"image": path.name, "top1": runner.labels[index], "index": index, "score": float(row[index]),
                                  "probabilities": [float(p) for p in row]}) + "\n")
