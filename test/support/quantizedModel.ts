// A small GGUF with tensors of every type the default base model has (F32, Q8_0, Q5_0, Q4_K,
// Q6_K) plus Q4_0, from seeded random blocks: what the requantizer meets in the real file, at a
// size a unit test reads in milliseconds. Every byte pattern is a valid block once its F16 scales
// are finite; they are set to realistic magnitudes.

import {seededRandom} from "../../craft/seededRandom";
import {
    f32ToF16Bits,
    GgmlType,
    type GgufStreamedTensor,
    ggmlTensorByteLength,
    ggufString,
    ggufStringArray,
    ggufU32,
    writeGgufStreamed,
} from "../../engine/gguf";

/** Byte offsets of each block type's F16 scales, and the block size in bytes. */
const SCALE_FIELDS: ReadonlyMap<number, {bytes: number; scales: readonly number[]}> = new Map([
    [GgmlType.Q8_0, {bytes: 34, scales: [0]}],
    [GgmlType.Q4_0, {bytes: 18, scales: [0]}],
    [GgmlType.Q5_0, {bytes: 22, scales: [0]}],
    [GgmlType.Q4_K, {bytes: 144, scales: [0, 2]}],
    [GgmlType.Q6_K, {bytes: 210, scales: [208]}],
]);

export const QUANTIZED_MODEL_TENSORS: readonly {name: string; type: number; ne: number[]}[] = [
    {name: "output_norm.weight", type: GgmlType.F32, ne: [64]},
    {name: "token_embd.weight", type: GgmlType.Q8_0, ne: [64, 32]},
    {name: "blk.0.attn_q.weight", type: GgmlType.Q5_0, ne: [64, 64]},
    {name: "blk.0.attn_v.weight", type: GgmlType.Q4_0, ne: [64, 16]},
    {name: "blk.0.attn_output.weight", type: GgmlType.Q4_K, ne: [256, 64]},
    {name: "blk.0.ffn_down.weight", type: GgmlType.Q6_K, ne: [512, 64]},
    {name: "blk.0.attn_norm.weight", type: GgmlType.F32, ne: [64]},
];

function tensorBytes(type: number, ne: readonly number[], random: ReturnType<typeof seededRandom>): Uint8Array {
    const length = ggmlTensorByteLength(type, ne) as number;
    const bytes = new Uint8Array(length);
    if (type === GgmlType.F32) {
        const values = new Float32Array(bytes.buffer);
        for (let i = 0; i < values.length; i++) values[i] = 1 + 0.1 * random.normal();
        return bytes;
    }
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(random.uniform() * 256);
    const layout = SCALE_FIELDS.get(type);
    if (layout === undefined) return bytes; // types without scale fields to fix (e.g. a refused type)
    for (let block = 0; block < length / layout.bytes; block++)
        for (const at of layout.scales) {
            const bits = f32ToF16Bits(Math.exp(-7 + 3 * random.uniform()));
            bytes[block * layout.bytes + at] = bits & 0xff;
            bytes[block * layout.bytes + at + 1] = bits >>> 8;
        }
    return bytes;
}

/** Writes the model; `extra` tensors (e.g. one of a type that cannot be converted) go last. */
export async function writeQuantizedModel(
    filePath: string,
    seed = 1,
    extra: readonly {name: string; type: number; ne: number[]}[] = [],
): Promise<void> {
    const random = seededRandom(seed);
    const tensors: GgufStreamedTensor[] = [...QUANTIZED_MODEL_TENSORS, ...extra].map((tensor) => {
        const bytes = tensorBytes(tensor.type, tensor.ne, random);
        return {
            ...tensor,
            byteLength: bytes.length,
            async *data() {
                yield bytes;
            },
        };
    });
    await writeGgufStreamed(
        filePath,
        [
            ["general.architecture", ggufString("llama")],
            ["general.name", ggufString("quantized test model")],
            ["general.file_type", ggufU32(15)],
            ["tokenizer.ggml.tokens", ggufStringArray(Array.from({length: 32}, (_, i) => `t${i}`))],
        ],
        tensors,
    );
}
