"""Writes Fashion-MNIST test images as real image files plus labels.csv, deterministically.

    python3 scripts/samples/write_samples.py data/samples/lossless --count 1000
    python3 scripts/samples/write_samples.py data/samples/mixed --count 2000 --kind mixed
    python3 scripts/samples/write_samples.py data/samples/dark --count 1000 --offset 5000 --shifted

Kinds (the same sets, file names and labels.csv as scripts/samples/cli.ts writes, so either tool's output
serves the other's readers):
- lossless (default): 28x28 grayscale PNGs of test images [offset, offset+count), the parity-test set;
- mixed: per ten images, seven such PNGs, one JPEG (quality 95), one 56x56 and one 20x30 RGB PNG;
- dark (--shifted): pixel * 0.4; invert: 255 - pixel. 28x28 grayscale PNGs, for the drift demo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "training"))
import fashion_mnist as fm  # noqa: E402  (lives with the training code; one IDX reader for both)

CSV_HEADER = "file,label_index,label_name,test_index,format"
DARKEN_FACTOR = 0.4
JPEG_QUALITY = 95
KINDS = ["lossless", "mixed", "dark", "invert"]


def format_for(kind: str, i: int) -> str:
    """Encoding of the i-th image of a set: png | jpeg | rgb56 | rgb20x30."""
    if kind != "mixed":
        return "png"
    return {7: "jpeg", 8: "rgb56", 9: "rgb20x30"}.get(i % 10, "png")


def shift(kind: str, pixels: np.ndarray) -> np.ndarray:
    if kind == "dark":
        # floor(x + 0.5) rounds halves up, like JavaScript's Math.round in the TypeScript writer.
        return np.floor(pixels.astype(np.float64) * DARKEN_FACTOR + 0.5).astype(np.uint8)
    if kind == "invert":
        return 255 - pixels
    return pixels


def encode(fmt: str, pixels: np.ndarray, path: Path) -> None:
    image = Image.fromarray(pixels)  # 2-D uint8 -> mode "L"
    if fmt == "jpeg":
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
    elif fmt == "rgb56":
        image.resize((56, 56), Image.Resampling.LANCZOS).convert("RGB").save(path, format="PNG")
    elif fmt == "rgb20x30":
        image.resize((20, 30), Image.Resampling.LANCZOS).convert("RGB").save(path, format="PNG")
    else:
        image.save(path, format="PNG")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=1000, help="number of test images (default 1000)")
    parser.add_argument("--offset", type=int, default=0, help="first test index (default 0)")
    parser.add_argument("--kind", choices=KINDS, default="lossless")
    parser.add_argument("--shifted", action="store_true", help="shorthand for --kind dark")
    parser.add_argument("--data-dir", type=Path, default=fm.DEFAULT_DIR)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    kind = "dark" if args.shifted else args.kind
    test = fm.load_test(args.data_dir)
    if args.count < 1 or args.offset < 0 or args.offset + args.count > len(test.labels):
        sys.exit(f"--offset {args.offset} --count {args.count} must select within the {len(test.labels)} test images")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    lines = [CSV_HEADER]
    for i in range(args.count):
        index = args.offset + i
        fmt = format_for(kind, i)
        name = f"{index:05d}-{fmt}.{'jpg' if fmt == 'jpeg' else 'png'}"
        encode(fmt, shift(kind, test.images[index]), args.out_dir / name)
        label = int(test.labels[index])
        lines.append(f'{name},{label},"{fm.LABELS[label]}",{index},{fmt}')
    (args.out_dir / "labels.csv").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.count} {kind} images and labels.csv to {args.out_dir}")


if __name__ == "__main__":
    main()
