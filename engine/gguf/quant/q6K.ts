// Q6_K: super-blocks of 256 weights. 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16
// int8 scales (one per 16 weights), an F16 d at the end; weight = d * scale * (q - 32). Each half
// of 128 weights interleaves four runs of 32. Mirrors ggml-quants.c dequantize_row_q6_K, in float32.

import {readF16} from "./scale";

export const Q6_K_BLOCK = {weights: 256, bytes: 210} as const;

const fround = Math.fround;
const int8 = (byte: number) => (byte << 24) >> 24;

export function dequantizeQ6KBlock(src: Uint8Array, at: number, out: Float32Array, outAt: number): void {
    const d = readF16(src, at + 208);
    let ql = at;
    let qh = at + 128;
    let sc = at + 192;
    let y = outAt;
    for (let n = 0; n < 256; n += 128) {
        for (let l = 0; l < 32; l++) {
            const is = l >>> 4;
            const low0 = src[ql + l] ?? 0;
            const low32 = src[ql + l + 32] ?? 0;
            const high = src[qh + l] ?? 0;
            const q1 = ((low0 & 0x0f) | ((high & 3) << 4)) - 32;
            const q2 = ((low32 & 0x0f) | (((high >>> 2) & 3) << 4)) - 32;
            const q3 = ((low0 >>> 4) | (((high >>> 4) & 3) << 4)) - 32;
            const q4 = ((low32 >>> 4) | (((high >>> 6) & 3) << 4)) - 32;
            out[y + l] = fround(fround(d * int8(src[sc + is] ?? 0)) * q1);
            out[y + l + 32] = fround(fround(d * int8(src[sc + is + 2] ?? 0)) * q2);
            out[y + l + 64] = fround(fround(d * int8(src[sc + is + 4] ?? 0)) * q3);
            out[y + l + 96] = fround(fround(d * int8(src[sc + is + 6] ?? 0)) * q4);
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}
