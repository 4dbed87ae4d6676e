import { describe, expect, it } from 'vitest';
import { keepsSize, letterboxGeometry, orientedSize, roundHalfEven, shorterSideCropGeometry } from '../../../models/runtime/preprocess/geometry.ts';

describe('resize geometry', () => {
  it('rounds halves to even, like Python', () => {
    expect([0.5, 1.5, 2.5, 34.5, 35.5, 2.4, 2.6, -1.5].map(roundHalfEven)).toEqual([0, 2, 2, 34, 36, 2, 3, -2]);
  });

  it('letterboxes: scaled size rounded, the odd padding pixel right or bottom', () => {
    expect(letterboxGeometry({ width: 640, height: 480 }, { width: 320, height: 320 })).toEqual({
      resized: { width: 320, height: 240 }, pad: { top: 40, bottom: 40, left: 0, right: 0 },
    });
    expect(letterboxGeometry({ width: 6, height: 4 }, { width: 5, height: 6 })).toEqual({
      resized: { width: 5, height: 3 }, pad: { top: 1, bottom: 2, left: 0, right: 0 },
    });
    // A very thin image keeps at least one pixel.
    expect(letterboxGeometry({ width: 1000, height: 1 }, { width: 10, height: 10 }).resized).toEqual({ width: 10, height: 1 });
  });

  it("follows torchvision's Resize(256) + CenterCrop(224)", () => {
    // 500x375: shorter side 375 -> 256, longer int(256 * 500 / 375) = 341; crop offsets round((341-224)/2) = 58 (58.5, half to even), 16.
    expect(shorterSideCropGeometry({ width: 500, height: 375 }, { width: 224, height: 224 }, 256)).toEqual({ resized: { width: 341, height: 256 }, left: 58, top: 16 });
    expect(shorterSideCropGeometry({ width: 375, height: 500 }, { width: 224, height: 224 }, 256)).toEqual({ resized: { width: 256, height: 341 }, left: 16, top: 58 });
  });

  it('swaps width and height for EXIF orientations 5 to 8 only', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, undefined].map((o) => orientedSize({ width: 4, height: 2 }, o).width)).toEqual([4, 4, 4, 4, 2, 2, 2, 2, 4]);
  });

  it('keeps the size only when no mode resamples, pads or crops an image already at the model size', () => {
    const size = { width: 224, height: 224 };
    expect(keepsSize(size, { ...size, resize: 'letterbox' })).toBe(true);
    expect(keepsSize(size, { ...size, resize: 'shorter_side_crop', resize_shorter: 256 })).toBe(false);
    expect(keepsSize(size, { ...size, resize: 'shorter_side_crop', resize_shorter: 224 })).toBe(true);
    expect(keepsSize({ width: 225, height: 224 }, { ...size, resize: 'fill' })).toBe(false);
  });
});
