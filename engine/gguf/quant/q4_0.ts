// Q4_0: blocks of 32 weights, an F16 scale d and 32 4-bit quants (weight j in the low nibble of
// byte j, weight j + 16 in its high nibble); weight = d * (q - 8). Mirrors ggml-quants.c
// (dequantize_row_q4_0, quantize_row_q4_0_ref) step for step in float32.

import {readF16, writeF16} from "./scale";

export const Q4_0_BLOCK = {weights: 32, bytes: 18} as const;

const fround = Math.fround;

export function dequantizeQ4_0Block(src: Uint8Array, at: number, out: Float32Array, outAt: number): void {
    const d = readF16(src, at);
    for (let j = 0; j < 16; j++) {
        const byte = src[at + 2 + j] ?? 0;
        out[outAt + j] = fround(((byte & 0x0f) - 8) * d);
        out[outAt + j + 16] = fround(((byte >>> 4) - 8) * d);
    }
}

export function quantizeQ4_0Block(x: Float32Array, xAt: number, dst: Uint8Array, at: number): void {
    // The value of largest magnitude, sign kept: it maps to -8, the end with one more step.
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
        const v = x[xAt + j] ?? 0;
        if (amax < Math.abs(v)) {
            amax = Math.abs(v);
            max = v;
        }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    writeF16(dst, at, d);
    for (let j = 0; j < 16; j++) {
        // (int8_t)(x + 8.5f) truncates toward zero; the sum is never negative here.
        const q0 = Math.min(15, Math.trunc(fround(fround((x[xAt + j] ?? 0) * id) + 8.5)));
        const q1 = Math.min(15, Math.trunc(fround(fround((x[xAt + j + 16] ?? 0) * id) + 8.5)));
        dst[at + 2 + j] = q0 | (q1 << 4);
    }
}
