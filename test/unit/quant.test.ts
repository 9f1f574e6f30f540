// Block (de)quantization (engine/gguf/quant/): every format decodes random blocks to exactly the
// float32 values gguf-py computes, the reference quantizers write exactly gguf-py's bytes, Q8_0's
// rounding error stays within half a step, and the Q4_0/Q5_0 -> Q8_0 re-encoding is lossless.

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {describe, test} from "node:test";
import {seededRandom} from "../../craft/seededRandom";
import {GgmlType} from "../../engine/gguf";
import {convertTensorData, dequantize, isExactConversion, type QuantTarget, quantize} from "../../engine/gguf/quant";
import {repoRoot} from "../support/realModel";

interface Fixture {
    dequantized: {type: keyof typeof GgmlType; bytes: string; values: number[]}[];
    quantized: {type: QuantTarget; name: string; values: number[]; bytes: string}[];
}

const fixture = JSON.parse(readFileSync(join(repoRoot(), "test", "fixtures", "quant-blocks.json"), "utf8")) as Fixture;
const hex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

function firstDifference(actual: Float32Array, expected: readonly number[]): string | null {
    if (actual.length !== expected.length) return `${actual.length} values, expected ${expected.length}`;
    for (let i = 0; i < actual.length; i++)
        if (!Object.is(actual[i], expected[i])) return `value ${i}: ${actual[i]}, expected ${expected[i]}`;
    return null;
}

describe("dequantization matches gguf-py bit for bit", () => {
    for (const item of fixture.dequantized)
        test(item.type, () => {
            const values = dequantize(GgmlType[item.type], hex(item.bytes), item.values.length);
            assert.equal(firstDifference(values, item.values), null);
        });
});

describe("reference quantization matches gguf-py byte for byte", () => {
    for (const item of fixture.quantized)
        test(`${item.type}: ${item.name}`, () => {
            const bytes = quantize(Float32Array.from(item.values), item.type);
            assert.equal(Buffer.from(bytes).toString("hex"), item.bytes);
        });
});

function randomValues(count: number, seed: number): Float32Array {
    const random = seededRandom(seed);
    const values = new Float32Array(count);
    // Blocks of very different magnitudes, as weights have.
    for (let block = 0; block < count / 32; block++) {
        const blockScale = Math.exp(-9 + 10 * random.uniform());
        for (let j = 0; j < 32; j++) values[block * 32 + j] = random.normal() * blockScale;
    }
    return values;
}

test("Q8_0: every weight within half a step (amax / 254) of its value, plus the F16 scale's rounding", () => {
    const values = randomValues(32 * 500, 1);
    const back = dequantize(GgmlType.Q8_0, quantize(values, "Q8_0"), values.length);
    for (let block = 0; block < values.length / 32; block++) {
        const slice = values.subarray(block * 32, block * 32 + 32);
        const amax = Math.max(...slice.map(Math.abs));
        // The scale is stored as F16: rounded by 2^-11 relative, or 2^-25 absolute below F16's
        // normal range; a quant of up to 127 multiplies that.
        const bound = (amax / 254 + 127 * Math.max((amax / 127) * 2 ** -11, 2 ** -25)) * 1.001;
        for (let j = 0; j < 32; j++) {
            const error = Math.abs((back[block * 32 + j] ?? 0) - (slice[j] ?? 0));
            assert.ok(error <= bound, `block ${block} weight ${j}: error ${error} > ${bound}`);
        }
    }
});

test("Q8_0 of Q8_0 values is the identity: requantizing what was dequantized gives the same bytes", () => {
    const once = quantize(randomValues(32 * 200, 2), "Q8_0");
    const twice = quantize(dequantize(GgmlType.Q8_0, once, 32 * 200), "Q8_0");
    assert.deepEqual(twice, once);
});

test("Q4_0 and Q5_0 re-encode to Q8_0 without changing a single value", () => {
    for (const item of fixture.dequantized.filter((d) => d.type === "Q4_0" || d.type === "Q5_0")) {
        const from = GgmlType[item.type];
        assert.ok(isExactConversion(from, "Q8_0"));
        const q8 = convertTensorData(from, hex(item.bytes), item.values.length, "Q8_0");
        assert.equal(q8.length, (item.values.length / 32) * 34);
        const values = dequantize(GgmlType.Q8_0, q8, item.values.length);
        assert.equal(firstDifference(values, item.values), null, item.type);
    }
});

test("K-quants convert to Q8_0 through float32, within half a Q8_0 step of the dequantized values", () => {
    for (const item of fixture.dequantized.filter((d) => d.type === "Q4_K" || d.type === "Q6_K")) {
        const from = GgmlType[item.type];
        assert.equal(isExactConversion(from, "Q8_0"), false);
        const q8 = convertTensorData(from, hex(item.bytes), item.values.length, "Q8_0");
        const values = dequantize(GgmlType.Q8_0, q8, item.values.length);
        for (let block = 0; block < item.values.length / 32; block++) {
            const slice = item.values.slice(block * 32, block * 32 + 32);
            const amax = Math.max(...slice.map(Math.abs));
            for (let j = 0; j < 32; j++) {
                const error = Math.abs((values[block * 32 + j] ?? 0) - (slice[j] ?? 0));
                assert.ok(error <= amax / 254 + amax * 2 ** -10, `${item.type} block ${block}: ${error}`);
            }
        }
    }
});

test("a tensor already of the target type is passed through untouched", () => {
    const bytes = quantize(randomValues(64, 3), "Q8_0");
    assert.equal(convertTensorData(GgmlType.Q8_0, bytes, 64, "Q8_0"), bytes);
});

test("sizes that are not whole blocks and types without a decoder are refused, naming the problem", () => {
    assert.throws(() => dequantize(GgmlType.Q4_K, new Uint8Array(143), 256), /143 bytes are not 256 Q4_K weights/);
    assert.throws(() => quantize(new Float32Array(33), "Q8_0"), /33 weights are not whole Q8_0 blocks/);
    assert.throws(
        () => convertTensorData(GgmlType.IQ2_XS, new Uint8Array(74), 256, "Q8_0"),
        /cannot dequantize IQ2_XS/,
    );
    assert.throws(
        () => convertTensorData(GgmlType.Q5_0, new Uint8Array(21), 32, "Q8_0"),
        /21 bytes are not 32 Q5_0 weights/,
    );
});
