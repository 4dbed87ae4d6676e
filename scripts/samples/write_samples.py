"""Writes Fashion-MNIST test images as real image files plus labels.csv, deterministically.

    python3 scripts/samples/write_samples.py data/samples/parity --count 1000
    python3 scripts/samples/write_samples.py data/samples/mixed --count 1000 --mix
    python3 scripts/samples/write_samples.py data/samples/drift --count 1000 --start 5000 --shifted darken

Default: lossless 28x28 grayscale PNGs of test images [start, start+count), the set the TypeScript parity test
feeds through sharp. --mix spreads the same images over formats serving must also handle (see FORMAT_CYCLE).
--shifted writes a drifted set for the drift demo: darken (pixel * 0.4) or invert (255 - pixel).
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "training"))
import fashion_mnist as fm  # noqa: E402  (lives with the training code; one IDX reader for both)

DARKEN_FACTOR = 0.4
JPEG_QUALITY = 95


@dataclass(frozen=True)
class Variant:
    format: str  # png | jpeg
    width: int
    height: int
    channels: int  # 1 grayscale, 3 RGB

    @property
    def suffix(self) -> str:
        if (self.width, self.height, self.channels) == (28, 28, 1):
            return ""
        return f"-{self.width}x{self.height}-{'rgb' if self.channels == 3 else 'gray'}"


PARITY = Variant("png", 28, 28, 1)
# --mix: per ten images, six lossless PNGs, two JPEGs, one upscaled and one non-square RGB PNG.
FORMAT_CYCLE = [PARITY] * 6 + [Variant("jpeg", 28, 28, 1)] * 2 + [Variant("png", 56, 56, 3), Variant("png", 20, 30, 3)]


def shift(pixels: np.ndarray, kind: str | None) -> np.ndarray:
    if kind == "darken":
        return np.round(pixels.astype(np.float64) * DARKEN_FACTOR).astype(np.uint8)
    if kind == "invert":
        return 255 - pixels
    return pixels


def render(pixels: np.ndarray, variant: Variant) -> Image.Image:
    image = Image.fromarray(pixels)  # 2-D uint8 -> mode "L"
    if (variant.width, variant.height) != (28, 28):
        image = image.resize((variant.width, variant.height), Image.Resampling.LANCZOS)
    return image.convert("RGB") if variant.channels == 3 else image


def save(image: Image.Image, path: Path, variant: Variant) -> None:
    if variant.format == "jpeg":
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(path, format="PNG", optimize=False)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=1000, help="number of test images (default 1000)")
    parser.add_argument("--start", type=int, default=0, help="first test index (default 0)")
    parser.add_argument("--mix", action="store_true", help="spread images over PNG, JPEG and resized RGB files")
    parser.add_argument(
        "--shifted", nargs="?", const="darken", choices=["darken", "invert"], help="write a drifted set (default darken)"
    )
    parser.add_argument("--data-dir", type=Path, default=fm.DEFAULT_DIR)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    test = fm.load_test(args.data_dir)
    if args.count < 1 or args.start < 0 or args.start + args.count > len(test.labels):
        sys.exit(f"--start {args.start} --count {args.count} must select within the {len(test.labels)} test images")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for offset in range(args.count):
        index = args.start + offset
        variant = FORMAT_CYCLE[offset % len(FORMAT_CYCLE)] if args.mix else PARITY
        extension = "jpg" if variant.format == "jpeg" else "png"
        name = f"test-{index:05d}{variant.suffix}{'-' + args.shifted if args.shifted else ''}.{extension}"
        save(render(shift(test.images[index], args.shifted), variant), args.out_dir / name, variant)
        label = int(test.labels[index])
        rows.append([name, label, fm.LABELS[label], index, variant.format, variant.width, variant.height, variant.channels])
    with open(args.out_dir / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "label", "label_name", "test_index", "format", "width", "height", "channels"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} images and labels.csv to {args.out_dir}")


if __name__ == "__main__":
    main()
