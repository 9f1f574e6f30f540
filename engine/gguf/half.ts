// IEEE half (F16) and bfloat16 (BF16) conversions. Node 20 has no Float16Array, so the bits
// are handled by hand; F16 -> F32 goes through a 64k-entry table because adapters and
// calibrations convert millions of values.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** F16 bits of `value`, rounded to nearest, ties to even (what numpy and PyTorch do). */
export function f32ToF16Bits(value: number): number {
    scratchF32[0] = value;
    const bits = scratchU32[0] ?? 0;
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    let mantissa = bits & 0x7fffff;
    if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) return sign | 0x7c00;
    if (halfExponent <= 0) {
        // Subnormal half: value = m * 2^-24, so shift the full 24-bit significand right.
        if (halfExponent < -10) return sign;
        mantissa |= 0x800000;
        const shift = 14 - halfExponent;
        const kept = mantissa >>> shift;
        const rest = mantissa & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        const rounded = rest > halfway || (rest === halfway && (kept & 1) === 1) ? kept + 1 : kept;
        return sign | rounded; // a carry into bit 10 is the smallest normal, which is right
    }
    let half = (halfExponent << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1; // a carry may give Inf: right
    return sign | half;
}

function f16BitsToNumber(bits: number): number {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) return sign * mantissa * 2 ** -24;
    if (exponent === 0x1f) return mantissa !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

let f16Table: Float32Array | undefined;

function f16ToF32Table(): Float32Array {
    if (f16Table === undefined) {
        f16Table = new Float32Array(65536);
        for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16BitsToNumber(bits);
    }
    return f16Table;
}

export function f16BitsToF32(bits: number): number {
    return f16ToF32Table()[bits & 0xffff] ?? Number.NaN;
}

export function f16ArrayToF32(source: Uint16Array): Float32Array {
    const table = f16ToF32Table();
    const out = new Float32Array(source.length);
    for (let i = 0; i < source.length; i++) out[i] = table[source[i] ?? 0] ?? Number.NaN;
    return out;
}

export function f32ArrayToF16(source: ArrayLike<number>): Uint16Array {
    const out = new Uint16Array(source.length);
    for (let i = 0; i < source.length; i++) out[i] = f32ToF16Bits(source[i] ?? 0);
    return out;
}

export function bf16ArrayToF32(source: Uint16Array): Float32Array {
    // BF16 is the top half of an F32: shifting the bits back is exact.
    const out = new Float32Array(source.length);
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < source.length; i++) outBits[i] = (source[i] ?? 0) << 16;
    return out;
}
