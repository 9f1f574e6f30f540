// The F16 scales at the start (or end) of every quantized block, read and written as ggml does:
// GGML_FP16_TO_FP32 is exact, GGML_FP32_TO_FP16 rounds to nearest, ties to even.

import {f16BitsToF32, f32ToF16Bits} from "../half";

export function readF16(bytes: Uint8Array, at: number): number {
    return f16BitsToF32((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8));
}

export function writeF16(bytes: Uint8Array, at: number, value: number): void {
    const bits = f32ToF16Bits(value);
    bytes[at] = bits & 0xff;
    bytes[at + 1] = bits >>> 8;
}
