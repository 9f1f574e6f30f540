// Converts a tensor's data from one ggml type to another, block by block: exactly where the
// target holds the source's values (exact.ts), else dequantized to float32 and quantized with
// ggml's reference quantizer. Blocks run along the innermost dimension, so a tensor whose row
// length is a multiple of both block sizes converts as one flat run of blocks.

import {GgmlType, ggmlTypeName} from "../types";
import {q4_0BlockToQ8_0, q5_0BlockToQ8_0} from "./exact";
import {dequantizeQ4_0Block, Q4_0_BLOCK, quantizeQ4_0Block} from "./q4_0";
import {dequantizeQ4KBlock, Q4_K_BLOCK} from "./q4K";
import {dequantizeQ5_0Block, Q5_0_BLOCK} from "./q5_0";
import {dequantizeQ6KBlock, Q6_K_BLOCK} from "./q6K";
import {dequantizeQ8_0Block, Q8_0_BLOCK, quantizeQ8_0Block} from "./q8_0";

type BlockLayout = {readonly weights: number; readonly bytes: number};
type Dequantize = (src: Uint8Array, at: number, out: Float32Array, outAt: number) => void;
type Quantize = (x: Float32Array, xAt: number, dst: Uint8Array, at: number) => void;
type Reencode = (src: Uint8Array, at: number, dst: Uint8Array, dstAt: number) => void;

const DEQUANTIZERS: ReadonlyMap<number, {layout: BlockLayout; dequantize: Dequantize}> = new Map([
    [GgmlType.Q4_0, {layout: Q4_0_BLOCK, dequantize: dequantizeQ4_0Block}],
    [GgmlType.Q5_0, {layout: Q5_0_BLOCK, dequantize: dequantizeQ5_0Block}],
    [GgmlType.Q8_0, {layout: Q8_0_BLOCK, dequantize: dequantizeQ8_0Block}],
    [GgmlType.Q4_K, {layout: Q4_K_BLOCK, dequantize: dequantizeQ4KBlock}],
    [GgmlType.Q6_K, {layout: Q6_K_BLOCK, dequantize: dequantizeQ6KBlock}],
]);

/** The types a tensor can be converted to. */
export const QUANTIZERS = {
    Q8_0: {type: GgmlType.Q8_0, layout: Q8_0_BLOCK, quantize: quantizeQ8_0Block},
    Q4_0: {type: GgmlType.Q4_0, layout: Q4_0_BLOCK, quantize: quantizeQ4_0Block},
} as const satisfies Record<string, {type: number; layout: BlockLayout; quantize: Quantize}>;

export type QuantTarget = keyof typeof QUANTIZERS;

const EXACT: ReadonlyMap<string, Reencode> = new Map([
    [`${GgmlType.Q4_0}>${GgmlType.Q8_0}`, q4_0BlockToQ8_0],
    [`${GgmlType.Q5_0}>${GgmlType.Q8_0}`, q5_0BlockToQ8_0],
]);

export function canDequantize(type: number): boolean {
    return DEQUANTIZERS.has(type);
}

/** True when converting `from` to `target` keeps every value exactly (or there is nothing to convert). */
export function isExactConversion(from: number, target: QuantTarget): boolean {
    return from === QUANTIZERS[target].type || EXACT.has(`${from}>${QUANTIZERS[target].type}`);
}

/** Dequantizes `count` weights of type `from` (a whole number of blocks) to float32. */
export function dequantize(from: number, data: Uint8Array, count: number): Float32Array {
    const codec = DEQUANTIZERS.get(from);
    if (codec === undefined) throw new Error(`cannot dequantize ${ggmlTypeName(from)} data`);
    const {weights, bytes} = codec.layout;
    if (count % weights !== 0 || data.length !== (count / weights) * bytes)
        throw new Error(`${data.length} bytes are not ${count} ${ggmlTypeName(from)} weights`);
    const out = new Float32Array(count);
    for (let block = 0; block < count / weights; block++) codec.dequantize(data, block * bytes, out, block * weights);
    return out;
}

/** Quantizes float32 weights (a whole number of target blocks) with ggml's reference quantizer. */
export function quantize(values: Float32Array, target: QuantTarget): Uint8Array {
    const {weights, bytes} = QUANTIZERS[target].layout;
    if (values.length % weights !== 0) throw new Error(`${values.length} weights are not whole ${target} blocks`);
    const out = new Uint8Array((values.length / weights) * bytes);
    for (let block = 0; block < values.length / weights; block++)
        QUANTIZERS[target].quantize(values, block * weights, out, block * bytes);
    return out;
}

/** `count` weights of type `from` as `target`: the same bytes, an exact re-encoding, or requantized. */
export function convertTensorData(from: number, data: Uint8Array, count: number, target: QuantTarget): Uint8Array {
    const to = QUANTIZERS[target];
    if (from === to.type) return data;
    const reencode = EXACT.get(`${from}>${to.type}`);
    if (reencode === undefined) return quantize(dequantize(from, data, count), target);
    const source = DEQUANTIZERS.get(from)?.layout;
    if (source === undefined || source.weights !== to.layout.weights)
        throw new Error(`no exact ${ggmlTypeName(from)} to ${target} re-encoding`);
    const blocks = count / source.weights;
    if (!Number.isInteger(blocks) || data.length !== blocks * source.bytes)
        throw new Error(`${data.length} bytes are not ${count} ${ggmlTypeName(from)} weights`);
    const out = new Uint8Array(blocks * to.layout.bytes);
    for (let block = 0; block < blocks; block++) reencode(data, block * source.bytes, out, block * to.layout.bytes);
    return out;
}
