/**
 * IEEE 754 half precision as raw bits: onnxruntime-node takes and gives 'float16' tensors as Uint16Array
 * (Node has no Float16Array before 24). Values are rounded from float32 to nearest, ties to even, as NumPy's
 * astype(float16) and PyTorch's .half() do. Pure.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits of `value` once rounded to float32. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal in half precision (or zero): units of 2^-24, from the 24-bit significand with its implicit 1.
    if (e < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - e;
    return sign | roundShift(significand, shift);
  }
  // A carry out of the mantissa moves into the exponent, which is the right answer (up to infinity).
  return sign | (((e << 10) | (mantissa >>> 13)) + roundingCarry(mantissa, 13, (mantissa >>> 13) & 1));
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  return kept + roundingCarry(value, shift, kept & 1);
}

/** 1 when the `shift` low bits dropped from `value` round the kept part up (nearest, ties to even). */
function roundingCarry(value: number, shift: number, keptLowBit: number): number {
  const dropped = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return dropped > half || (dropped === half && keptLowBit === 1) ? 1 : 0;
}
