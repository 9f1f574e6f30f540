// Q8_0: blocks of 32 weights, an F16 scale d and 32 int8 quants; weight = d * q.
// Mirrors ggml-quants.c (dequantize_row_q8_0, quantize_row_q8_0_ref) operation for operation in
// float32 (Math.fround after each step), so the bytes are the ones llama.cpp's quantizer writes.

import {readF16, writeF16} from "./scale";

export const Q8_0_BLOCK = {weights: 32, bytes: 34} as const;

const fround = Math.fround;

export function dequantizeQ8_0Block(src: Uint8Array, at: number, out: Float32Array, outAt: number): void {
    const d = readF16(src, at);
    for (let j = 0; j < 32; j++) {
        const q = ((src[at + 2 + j] ?? 0) << 24) >> 24; // int8
        out[outAt + j] = fround(q * d);
    }
}

/** C's roundf: halves away from zero (Math.round rounds -2.5 to -2). */
function roundHalfAway(x: number): number {
    return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

export function quantizeQ8_0Block(x: Float32Array, xAt: number, dst: Uint8Array, at: number): void {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xAt + j] ?? 0));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    writeF16(dst, at, d);
    for (let j = 0; j < 32; j++) dst[at + 2 + j] = roundHalfAway(fround((x[xAt + j] ?? 0) * id)) & 0xff;
}
