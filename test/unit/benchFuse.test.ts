// The benchmark's fused LoRA (bench/fuse.ts): one adapter whose B_f A_f equals the sum of the
// inputs' scaled products exactly (checked in float64 against the formula llama.cpp applies),
// with a uniform rank padded to 16 and alpha = rank so llama.cpp's own factor is 1.

import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {fuseLoras} from "../../bench/fuse";
import {adapterGguf, type TinyBase, writeAdapterDir, writeTinyBaseModel} from "../../craft/gguf";
import {metaNumber, readGgufHeader, readTensorF32, writeGguf} from "../../engine/gguf";

let work: string;
let tiny: TinyBase;

before(async () => {
    work = await mkdtemp(join(tmpdir(), "bench-fuse-"));
    tiny = await writeTinyBaseModel(join(work, "base.gguf"));
});

after(async () => {
    await rm(work, {recursive: true, force: true});
});

/** dense [nOut][nIn] = factor * B A, with A [r][nIn] and B [nOut][r], in float64. */
function product(a: Float32Array, b: Float32Array, r: number, nIn: number, nOut: number, factor: number): Float64Array {
    const out = new Float64Array(nOut * nIn);
    for (let o = 0; o < nOut; o++)
        for (let j = 0; j < r; j++) {
            const bj = factor * (b[o * r + j] as number);
            for (let i = 0; i < nIn; i++)
                out[o * nIn + i] = (out[o * nIn + i] as number) + bj * (a[j * nIn + i] as number);
        }
    return out;
}

test("the fused adapter's B A equals the sum of scale * alpha / r * B_i A_i for every tensor", async () => {
    const inputs = [
        {rank: 4, alpha: 8, scale: 0.9, seed: 1},
        {rank: 8, alpha: 4, scale: -0.5, seed: 2},
        {rank: 3, alpha: 0, scale: 1, seed: 3}, // alpha 0: no alpha/r factor, as llama.cpp
    ];
    const files: {filePath: string; scale: number; rank: number; factor: number}[] = [];
    for (const [k, spec] of inputs.entries()) {
        const gguf = adapterGguf(tiny.base, {rank: spec.rank, alpha: spec.alpha, seed: spec.seed, scale: 0.1});
        if (spec.alpha === 0) gguf.metadata = gguf.metadata.filter(([key]) => key !== "adapter.lora.alpha");
        const filePath = join(work, `in${k}.gguf`);
        await writeGguf(filePath, gguf);
        const factor = spec.scale * (spec.alpha > 0 ? spec.alpha / spec.rank : 1);
        files.push({filePath, scale: spec.scale, rank: spec.rank, factor});
    }
    const fused = await fuseLoras(files, join(work, "fused.gguf"));
    assert.equal(fused.rank, 16, "4 + 8 + 3 = 15, padded to 16");
    const header = await readGgufHeader(fused.filePath);
    assert.equal(metaNumber(header, "adapter.lora.alpha"), 16);
    let checked = 0;
    for (const [name, ne] of tiny.base.tensors) {
        if (!/^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$/.test(name)) continue;
        const [nIn = 0, nOut = 0] = ne;
        const expected = new Float64Array(nOut * nIn);
        for (const file of files) {
            const h = await readGgufHeader(file.filePath);
            const part = product(
                await readTensorF32(h, `${name}.lora_a`),
                await readTensorF32(h, `${name}.lora_b`),
                file.rank,
                nIn,
                nOut,
                file.factor,
            );
            for (let i = 0; i < part.length; i++) expected[i] = (expected[i] as number) + (part[i] as number);
        }
        const got = product(
            await readTensorF32(header, `${name}.lora_a`),
            await readTensorF32(header, `${name}.lora_b`),
            fused.rank,
            nIn,
            nOut,
            1, // alpha / rank = 1
        );
        let maxDiff = 0;
        for (let i = 0; i < got.length; i++)
            maxDiff = Math.max(maxDiff, Math.abs((got[i] as number) - (expected[i] as number)));
        assert.ok(maxDiff < 1e-6, `${name}: max |diff| ${maxDiff}`);
        checked++;
    }
    assert.equal(checked, 3 * 7);
});

test("a fused adapter is a valid adapter directory for the engine's validator", async () => {
    const one = await writeAdapterDir(join(work, "a1"), adapterGguf(tiny.base, {rank: 16, seed: 5}), {});
    const fused = await fuseLoras([{filePath: one.ggufPath, scale: 0.5}], join(work, "single.gguf"));
    assert.equal(fused.rank, 16);
    assert.equal(fused.tensors, 2 * 3 * 7);
});
