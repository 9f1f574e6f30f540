// Q4_K: super-blocks of 256 weights in 8 sub-blocks of 32. F16 d and dmin, 12 bytes packing a
// 6-bit scale and a 6-bit min per sub-block, 128 bytes of 4-bit quants (each 64 weights share 32
// bytes: the first 32 weights in the low nibbles, the next 32 in the high nibbles);
// weight = d * scale * q - dmin * min. Mirrors ggml-quants.c dequantize_row_q4_K and
// get_scale_min_k4, in float32.

import {readF16} from "./scale";

export const Q4_K_BLOCK = {weights: 256, bytes: 144} as const;

const fround = Math.fround;

/** Sub-block j's 6-bit scale and min from the 12 packed bytes at `at` (get_scale_min_k4). */
function scaleMin(src: Uint8Array, at: number, j: number): [scale: number, min: number] {
    const q = (i: number) => src[at + i] ?? 0;
    if (j < 4) return [q(j) & 63, q(j + 4) & 63];
    return [(q(j + 4) & 0x0f) | ((q(j - 4) >>> 6) << 4), (q(j + 4) >>> 4) | ((q(j) >>> 6) << 4)];
}

export function dequantizeQ4KBlock(src: Uint8Array, at: number, out: Float32Array, outAt: number): void {
    const d = readF16(src, at);
    const dmin = readF16(src, at + 2);
    const scales = at + 4;
    let q = at + 16;
    let y = outAt;
    for (let is = 0; is < 8; is += 2) {
        const [sc1, m1] = scaleMin(src, scales, is);
        const [sc2, m2] = scaleMin(src, scales, is + 1);
        const d1 = fround(d * sc1);
        const min1 = fround(dmin * m1);
        const d2 = fround(d * sc2);
        const min2 = fround(dmin * m2);
        for (let l = 0; l < 32; l++) out[y++] = fround(fround(d1 * ((src[q + l] ?? 0) & 0x0f)) - min1);
        for (let l = 0; l < 32; l++) out[y++] = fround(fround(d2 * ((src[q + l] ?? 0) >>> 4)) - min2);
        q += 32;
    }
}
