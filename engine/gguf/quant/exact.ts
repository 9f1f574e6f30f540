// Re-encodings that lose nothing: a Q4_0 or Q5_0 block is an F16 scale times integers in -16..15,
// which a Q8_0 block with the same scale holds exactly. Going through float32 and Q8_0's
// reference quantizer instead would rescale the block (d = amax / 127) and round every weight.

import {q5_0Quants} from "./q5_0";

export function q4_0BlockToQ8_0(src: Uint8Array, at: number, dst: Uint8Array, dstAt: number): void {
    dst[dstAt] = src[at] ?? 0;
    dst[dstAt + 1] = src[at + 1] ?? 0;
    for (let j = 0; j < 16; j++) {
        const byte = src[at + 2 + j] ?? 0;
        dst[dstAt + 2 + j] = ((byte & 0x0f) - 8) & 0xff;
        dst[dstAt + 2 + j + 16] = ((byte >>> 4) - 8) & 0xff;
    }
}

const quants = new Uint8Array(32);

export function q5_0BlockToQ8_0(src: Uint8Array, at: number, dst: Uint8Array, dstAt: number): void {
    dst[dstAt] = src[at] ?? 0;
    dst[dstAt + 1] = src[at + 1] ?? 0;
    q5_0Quants(src, at, quants);
    for (let j = 0; j < 32; j++) dst[dstAt + 2 + j] = ((quants[j] ?? 0) - 16) & 0xff;
}
