// Q5_0: blocks of 32 weights, an F16 scale d, 32 high bits (a little-endian u32: bit j is
// weight j's fifth bit) and 32 low nibbles laid out as in Q4_0; weight = d * (q - 16).
// Mirrors ggml-quants.c dequantize_row_q5_0.

import {readF16} from "./scale";

export const Q5_0_BLOCK = {weights: 32, bytes: 22} as const;

const fround = Math.fround;

/** The 32 quants of a block, 0..31, in weight order. */
export function q5_0Quants(src: Uint8Array, at: number, out: Uint8Array): void {
    const qh =
        ((src[at + 2] ?? 0) | ((src[at + 3] ?? 0) << 8) | ((src[at + 4] ?? 0) << 16) | ((src[at + 5] ?? 0) << 24)) >>>
        0;
    for (let j = 0; j < 16; j++) {
        const byte = src[at + 6 + j] ?? 0;
        out[j] = (byte & 0x0f) | (((qh >>> j) << 4) & 0x10);
        out[j + 16] = (byte >>> 4) | ((qh >>> (j + 12)) & 0x10);
    }
}

const quants = new Uint8Array(32);

export function dequantizeQ5_0Block(src: Uint8Array, at: number, out: Float32Array, outAt: number): void {
    const d = readF16(src, at);
    q5_0Quants(src, at, quants);
    for (let j = 0; j < 32; j++) out[outAt + j] = fround(((quants[j] ?? 0) - 16) * d);
}
