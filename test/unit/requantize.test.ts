// Deriving a faster base model file (engine/model/requantize.ts) on a small model with every
// tensor type the default model has: the result parses, keeps the structural fingerprint and
// every metadata entry, copies F32 and Q8_0 tensors byte for byte, re-encodes Q4_0/Q5_0 exactly,
// requantizes K-quants within half a Q8_0 step, and is the same bytes every time; a cancel
// leaves nothing behind.

import assert from "node:assert/strict";
import {mkdtemp, readdir, readFile, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {
    GgmlType,
    GgufTensorFile,
    type GgufTensorInfo,
    ggmlTypeName,
    ggufString,
    metaNumber,
    metaString,
    readGgufHeader,
} from "../../engine/gguf";
import {dequantize} from "../../engine/gguf/quant";
import {baseFingerprint} from "../../engine/model/fingerprint";
import {RequantizeError, requantizeModel} from "../../engine/model/requantize";
import {QUANTIZED_MODEL_TENSORS, writeQuantizedModel} from "../support/quantizedModel";

let dir: string;
let source: string;

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "composer-requantize-"));
    source = join(dir, "source.gguf");
    await writeQuantizedModel(source);
});

after(async () => {
    await rm(dir, {recursive: true, force: true});
});

const count = (tensor: GgufTensorInfo) => tensor.ne.reduce((a, b) => a * b, 1);

async function decoded(path: string): Promise<Map<string, {type: number; raw: Uint8Array; values: Float32Array}>> {
    const header = await readGgufHeader(path);
    const file = await GgufTensorFile.open(header);
    try {
        const out = new Map<string, {type: number; raw: Uint8Array; values: Float32Array}>();
        for (const tensor of header.tensors) {
            const raw = await file.readRaw(tensor);
            const values =
                tensor.type === GgmlType.F32
                    ? new Float32Array(raw.slice().buffer)
                    : dequantize(tensor.type, raw, count(tensor));
            out.set(tensor.name, {type: tensor.type, raw, values});
        }
        return out;
    } finally {
        await file.close();
    }
}

test("Q8_0: fingerprint and metadata kept, each tensor copied, re-encoded exactly or requantized closely", async () => {
    const target = join(dir, "q8.gguf");
    const summary = await requantizeModel(source, target, "Q8_0", [["composer.note", ggufString("test")]]);
    assert.deepEqual(summary, {
        kept: 3,
        exact: 2,
        requantized: {Q4_K: 1, Q6_K: 1},
        bytes: (await readGgufHeader(target)).fileSize,
    });

    const [before, after] = [await readGgufHeader(source), await readGgufHeader(target)];
    assert.equal(baseFingerprint(after), baseFingerprint(before));
    assert.equal(metaNumber(after, "general.file_type"), 7);
    assert.equal(metaString(after, "composer.note"), "test");
    assert.deepEqual(
        [...after.metadata.keys()],
        [...before.metadata.keys(), "composer.note"],
        "source keys keep their order; added ones follow",
    );
    for (const [key, value] of before.metadata)
        if (key !== "general.file_type") assert.deepEqual(after.metadata.get(key), value, key);
    const end = Math.max(...after.tensors.map((t) => after.dataOffset + t.offset + t.byteLength));
    assert.ok(after.fileSize - end < 32, "tensor data fills the file up to the last alignment padding");
    for (const tensor of after.tensors) assert.equal(tensor.offset % 32, 0, `${tensor.name} aligned`);

    const [original, derived] = [await decoded(source), await decoded(target)];
    for (const {name, type} of QUANTIZED_MODEL_TENSORS) {
        const a = original.get(name);
        const b = derived.get(name);
        assert.ok(a !== undefined && b !== undefined, name);
        const kept = type === GgmlType.F32 || type === GgmlType.Q8_0;
        assert.equal(b.type, kept ? type : GgmlType.Q8_0, `${name}: ${ggmlTypeName(b.type)}`);
        if (kept) assert.deepEqual(b.raw, a.raw, `${name} copied byte for byte`);
        else if (type === GgmlType.Q5_0 || type === GgmlType.Q4_0) assert.deepEqual(b.values, a.values, name);
        else
            for (let block = 0; block < a.values.length / 32; block++) {
                const slice = a.values.subarray(block * 32, block * 32 + 32);
                const amax = Math.max(...slice.map(Math.abs));
                for (let j = 0; j < 32; j++) {
                    const error = Math.abs((b.values[block * 32 + j] ?? 0) - (slice[j] ?? 0));
                    assert.ok(error <= amax / 254 + amax * 2 ** -10, `${name} block ${block}: ${error}`);
                }
            }
    }
});

test("the same source gives the same bytes", async () => {
    await requantizeModel(source, join(dir, "a.gguf"), "Q8_0");
    await requantizeModel(source, join(dir, "b.gguf"), "Q8_0");
    assert.deepEqual(await readFile(join(dir, "a.gguf")), await readFile(join(dir, "b.gguf")));
});

test("Q4_0: Q8_0 and F32 tensors are kept, every other one becomes Q4_0", async () => {
    const target = join(dir, "q4.gguf");
    const summary = await requantizeModel(source, target, "Q4_0");
    assert.deepEqual(summary.requantized, {Q5_0: 1, Q4_K: 1, Q6_K: 1});
    assert.equal(summary.kept, 4, "F32 x2, Q8_0, and the Q4_0 tensor already of the target type");
    const header = await readGgufHeader(target);
    assert.equal(metaNumber(header, "general.file_type"), 2);
    assert.deepEqual(
        header.tensors.map((t) => ggmlTypeName(t.type)),
        ["F32", "Q8_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "F32"],
    );
    assert.equal(baseFingerprint(header), baseFingerprint(await readGgufHeader(source)));
});

test("a tensor of a type it cannot decode is refused by name, and nothing is left behind", async () => {
    const odd = join(dir, "odd.gguf");
    await writeQuantizedModel(odd, 2, [{name: "blk.0.ffn_up.weight", type: GgmlType.IQ2_XS, ne: [256, 8]}]);
    const before = await readdir(dir);
    await assert.rejects(
        requantizeModel(odd, join(dir, "odd-q8.gguf"), "Q8_0"),
        (error: unknown) =>
            error instanceof RequantizeError && /"blk\.0\.ffn_up\.weight" is IQ2_XS/.test(error.message),
    );
    assert.deepEqual(await readdir(dir), before);
});

test("a cancel stops it between tensors, and the partial file is removed", async () => {
    const controller = new AbortController();
    let checks = 0;
    // Stands in for a signal that the user aborts while the third tensor is due: by then the
    // header and two tensors are on disk.
    const signal = {
        throwIfAborted() {
            if (++checks === 4) controller.abort();
            controller.signal.throwIfAborted();
        },
    } as unknown as AbortSignal;
    const before = await readdir(dir);
    await assert.rejects(
        requantizeModel(source, join(dir, "cancelled.gguf"), "Q8_0", [], {signal}),
        (error: unknown) => (error as Error).name === "AbortError",
    );
    assert.equal(checks, 4, "checked once before starting and before each tensor until the cancel");
    assert.deepEqual(await readdir(dir), before);
});
