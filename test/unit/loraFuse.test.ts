// The fused form (engine/adapters/fuse.ts, engine/calibrations/fusedMix.ts): one adapter whose
// B_f A_f equals the sum of the inputs' scaled products exactly (checked in float64 against the
// formula llama.cpp applies), a uniform rank padded to 16 with alpha = rank, the cached file
// content-addressed, reused only when intact and rebuilt when damaged, built from verified
// inputs only (the pass mixes that use it: requestPath.test.ts).

import assert from "node:assert/strict";
import {mkdtemp, readFile, rm, stat, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {basename, join} from "node:path";
import {after, before, describe, test} from "node:test";
import {adapterGguf, randomLcppParameters, type TinyBase, writeTinyBaseModel} from "../../craft/gguf";
import {
    combineLoraTerms,
    LoraFuseError,
    type LoraTerms,
    paddedRank,
    readHashedLoraTerms,
    readLoraTerms,
    scaleLoraTerms,
    writeFusedLora,
} from "../../engine/adapters/fuse";
import {calibrationTerms} from "../../engine/calibrations/expand";
import {fusedMixFileName, fuseMix, type MixToFuse} from "../../engine/calibrations/fusedMix";
import {MODULE_TYPES} from "../../engine/calibrations/moduleTypes";
import {readCalibration} from "../../engine/calibrations/read";
import {verifyCalibration} from "../../engine/calibrations/verified";
import {writeCalibration} from "../../engine/calibrations/write";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {hashFile} from "../../engine/files/sha256";
import {type GgufHeader, ggmlTypeName, metaNumber, readGgufHeader, readTensorF32, writeGguf} from "../../engine/gguf";

let work: string;
let tiny: TinyBase;

before(async () => {
    work = await mkdtemp(join(tmpdir(), "lora-fuse-"));
    tiny = await writeTinyBaseModel(join(work, "base.gguf"));
});

after(async () => {
    await rm(work, {recursive: true, force: true});
});

/** dense [nOut][nIn] += factor * B A, with A [r][nIn] and B [nOut][r], in float64. */
function addProduct(
    out: Float64Array,
    a: Float32Array,
    b: Float32Array,
    r: number,
    nIn: number,
    nOut: number,
    factor: number,
): void {
    for (let o = 0; o < nOut; o++)
        for (let j = 0; j < r; j++) {
            const bj = factor * (b[o * r + j] as number);
            for (let i = 0; i < nIn; i++)
                out[o * nIn + i] = (out[o * nIn + i] as number) + bj * (a[j * nIn + i] as number);
        }
}

/** The dense delta every term of `lora` adds to `baseName`, as llama.cpp would compute it unfused. */
function expectedDelta(lora: LoraTerms, baseName: string, nIn: number, nOut: number): Float64Array {
    const out = new Float64Array(nOut * nIn);
    for (const term of lora.terms.get(baseName) ?? [])
        addProduct(out, term.a, term.b, term.rank, nIn, nOut, term.factor);
    return out;
}

/** The dense delta of a written LoRA file at scale 1 (alpha / r with r = the tensor's rank). */
async function fileDelta(header: GgufHeader, baseName: string, nIn: number, nOut: number): Promise<Float64Array> {
    const info = header.tensors.find((t) => t.name === `${baseName}.lora_a`);
    assert.ok(info !== undefined, `${baseName} missing`);
    const rank = info.ne[1] as number;
    const out = new Float64Array(nOut * nIn);
    const a = await readTensorF32(header, `${baseName}.lora_a`);
    const b = await readTensorF32(header, `${baseName}.lora_b`);
    addProduct(out, a, b, rank, nIn, nOut, metaNumber(header, "adapter.lora.alpha") / rank);
    return out;
}

/** sum |factor B| |A| per weight: what rounding each B value by a relative 2^-11 (F16) can move it by, x 2^11. */
function absoluteDelta(lora: LoraTerms, baseName: string, nIn: number, nOut: number): Float64Array {
    const out = new Float64Array(nOut * nIn);
    for (const term of lora.terms.get(baseName) ?? [])
        addProduct(out, term.a.map(Math.abs), term.b.map(Math.abs), term.rank, nIn, nOut, Math.abs(term.factor));
    return out;
}

/** The largest |x - y| beyond F16's rounding of B (half an ulp: 2^-11 relative, 2^-25 for subnormals). */
function beyondF16RoundingOfB(x: Float64Array, y: Float64Array, absolute: Float64Array, largestA: number): number {
    let max = 0;
    for (let i = 0; i < x.length; i++) {
        const allowed = 2 ** -11 * (absolute[i] as number) + 32 * 2 ** -25 * largestA;
        max = Math.max(max, Math.abs((x[i] as number) - (y[i] as number)) - allowed);
    }
    return max;
}

function maxDifference(x: Float64Array, y: Float64Array): number {
    let max = 0;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs((x[i] as number) - (y[i] as number)));
    return max;
}

const LINEAR = /^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$/;

async function writeAdapter(name: string, spec: {rank: number; alpha: number; seed: number}): Promise<string> {
    const gguf = adapterGguf(tiny.base, {rank: spec.rank, alpha: spec.alpha, seed: spec.seed, scale: 0.1});
    // alpha 0 means "no alpha/r factor" to llama.cpp; the key may also be absent.
    if (spec.alpha === 0) gguf.metadata = gguf.metadata.filter(([key]) => key !== "adapter.lora.alpha");
    const filePath = join(work, name);
    await writeGguf(filePath, gguf);
    return filePath;
}

describe("fusing LoRA terms", () => {
    test("the fused adapter's B A equals the sum of scale * alpha / r * B_i A_i for every tensor", async () => {
        const specs = [
            {rank: 4, alpha: 8, scale: 0.9, seed: 1},
            {rank: 8, alpha: 4, scale: -0.5, seed: 2},
            {rank: 3, alpha: 0, scale: 1.3, seed: 3},
        ];
        const inputs: LoraTerms[] = [];
        for (const [k, spec] of specs.entries())
            inputs.push(await readLoraTerms(await writeAdapter(`in${k}.gguf`, spec), spec.scale));
        assert.equal(inputs[0]?.terms.get("blk.0.attn_q.weight")?.[0]?.factor, 0.9 * (8 / 4));
        assert.equal(inputs[2]?.terms.get("blk.0.attn_q.weight")?.[0]?.factor, 1.3, "alpha 0: the scale alone");
        const combined = combineLoraTerms(inputs);
        const filePath = join(work, "fused.gguf");
        const rank = await writeFusedLora(filePath, combined, {name: "test", bType: "F32"});
        assert.equal(rank, 16, "4 + 8 + 3 = 15, padded to 16");
        const header = await readGgufHeader(filePath);
        assert.equal(metaNumber(header, "adapter.lora.alpha"), 16);
        let checked = 0;
        for (const [name, [nIn = 0, nOut = 0]] of tiny.base.tensors) {
            if (!LINEAR.test(name)) continue;
            const difference = maxDifference(
                await fileDelta(header, name, nIn, nOut),
                expectedDelta(combined, name, nIn, nOut),
            );
            assert.ok(difference < 1e-6, `${name}: max |diff| ${difference}`);
            // A wrong fold (e.g. a missing alpha/r) would show: the inputs' deltas are ~1e-2.
            assert.ok(maxDifference(expectedDelta(combined, name, nIn, nOut), new Float64Array(nIn * nOut)) > 1e-3);
            checked++;
        }
        assert.equal(checked, 3 * 7);
    });

    test("B in F16: A stays F32, B is rounded to F16 and nothing else moves; a B beyond F16's range stays F32", async () => {
        const inputs = [
            await readLoraTerms(await writeAdapter("h0.gguf", {rank: 4, alpha: 8, seed: 21}), 0.9),
            await readLoraTerms(await writeAdapter("h1.gguf", {rank: 8, alpha: 4, seed: 22}), 0.5),
        ];
        const combined = combineLoraTerms(inputs);
        const filePath = join(work, "fused-f16.gguf");
        await writeFusedLora(filePath, combined, {name: "test", bType: "F16"});
        const header = await readGgufHeader(filePath);
        const typeOf = (name: string) => ggmlTypeName(header.tensors.find((t) => t.name === name)?.type ?? -1);
        let checked = 0;
        for (const [name, [nIn = 0, nOut = 0]] of tiny.base.tensors) {
            if (!LINEAR.test(name)) continue;
            assert.equal(typeOf(`${name}.lora_a`), "F32");
            assert.equal(typeOf(`${name}.lora_b`), "F16");
            const written = await fileDelta(header, name, nIn, nOut);
            const expected = expectedDelta(combined, name, nIn, nOut);
            const largestA = Math.max(...(combined.terms.get(name) ?? []).flatMap((term) => [...term.a].map(Math.abs)));
            const beyond = beyondF16RoundingOfB(written, expected, absoluteDelta(combined, name, nIn, nOut), largestA);
            assert.ok(beyond <= 0, `${name}: ${beyond} beyond F16's rounding of B`);
            assert.ok(maxDifference(written, expected) > 0, `${name}: B was not rounded`);
            checked++;
        }
        assert.equal(checked, 3 * 7);

        // Folded scales can leave F16's range (merge weights up to 10, alpha / r unbounded):
        // such a tensor is written in F32 rather than as infinity.
        const strong = combineLoraTerms([scaleLoraTerms(inputs[0] as LoraTerms, 1e7)]);
        const strongPath = join(work, "fused-strong.gguf");
        await writeFusedLora(strongPath, strong, {name: "test", bType: "F16"});
        const strongHeader = await readGgufHeader(strongPath);
        const bTypes = strongHeader.tensors.filter((t) => t.name.endsWith(".lora_b")).map((t) => ggmlTypeName(t.type));
        assert.deepEqual(new Set(bTypes), new Set(["F32"]));
        const b = await readTensorF32(strongHeader, "blk.0.attn_q.weight.lora_b");
        assert.ok(b.every(Number.isFinite) && b.some((value) => Math.abs(value) > 65504));
    });

    test("ranks pad to a multiple of 16; inputs that disagree are refused", async () => {
        assert.deepEqual([1, 15, 16, 17, 36].map(paddedRank), [16, 16, 16, 32, 48]);
        assert.throws(() => combineLoraTerms([]), LoraFuseError);
        const one = await readLoraTerms(await writeAdapter("arch.gguf", {rank: 4, alpha: 8, seed: 9}), 1);
        assert.throws(() => combineLoraTerms([one, {...one, architecture: "gemma3"}]), /architectures differ/);
        const term = one.terms.get("blk.0.attn_q.weight")?.[0];
        assert.ok(term !== undefined);
        const misshapen: LoraTerms = {
            architecture: one.architecture,
            terms: new Map([["blk.0.attn_q.weight", [{...term, nIn: term.nIn + 1}]]]),
        };
        assert.throws(() => combineLoraTerms([one, misshapen]), /shapes disagree/);
    });
});

describe("a pass's fused mix file", () => {
    let mix: MixToFuse;
    let calibrationPath: string;

    /** Writes the pass's LC++ calibration over `adapters` and reads and binds it, as the engine's inventory does. */
    async function boundCalibration(adapters: MixToFuse["adapters"], seed: number) {
        await writeCalibration(calibrationPath, {
            architecture: tiny.base.architecture,
            chain: parseTaskChain("reply+tone:casual"),
            baseFingerprint: tiny.base.fingerprint,
            adapters: adapters.map((adapter, index) => ({
                id: `tiny.task-${index}`,
                sha256: adapter.sha256,
                mergeWeight: adapter.scale,
            })),
            promptTemplate: "{input}",
            stopStrings: [],
            training: {},
            parameters: randomLcppParameters(tiny.base, 4, seed, 0.1),
        });
        const installed = adapters.map((adapter, index) => ({id: `tiny.task-${index}`, ...adapter}));
        const verdict = verifyCalibration(await readCalibration(calibrationPath), installed, tiny.base);
        assert.ok(verdict.ok);
        return verdict.calibration;
    }

    before(async () => {
        const adapters = [];
        for (const [k, spec] of [
            {rank: 16, alpha: 32, seed: 11, scale: 1},
            {rank: 8, alpha: 16, seed: 12, scale: 0.75},
        ].entries()) {
            const filePath = await writeAdapter(`task${k}.gguf`, spec);
            adapters.push({...(await hashFile(filePath)), scale: spec.scale});
        }
        calibrationPath = join(work, "reply+tone-casual.lcpp.gguf");
        mix = {adapters, calibration: await boundCalibration(adapters, 13)};
    });

    test("equals the adapters at their scales plus the expanded calibration, B in F16, at rank 16 + 8 + 4 -> 32", async () => {
        const cacheDir = join(work, "cache-exact");
        const {filePath, built} = await fuseMix(mix, tiny.base, cacheDir);
        assert.ok(built);
        assert.equal(basename(filePath), fusedMixFileName(mix, tiny.base));
        const header = await readGgufHeader(filePath);
        assert.equal(metaNumber(header, "adapter.lora.alpha"), 32);
        const unfused = combineLoraTerms([
            ...(await Promise.all(mix.adapters.map((a) => readLoraTerms(a.filePath, a.scale)))),
            calibrationTerms(mix.calibration as NonNullable<MixToFuse["calibration"]>, [], tiny.base),
        ]);
        assert.equal(unfused.terms.get("blk.2.ffn_down.weight")?.length, 3);
        for (const [name, [nIn = 0, nOut = 0]] of tiny.base.tensors) {
            if (!LINEAR.test(name)) continue;
            const largestA = Math.max(...(unfused.terms.get(name) ?? []).flatMap((term) => [...term.a].map(Math.abs)));
            const beyond = beyondF16RoundingOfB(
                await fileDelta(header, name, nIn, nOut),
                expectedDelta(unfused, name, nIn, nOut),
                absoluteDelta(unfused, name, nIn, nOut),
                largestA,
            );
            assert.ok(beyond <= 0, `${name}: ${beyond} beyond F16's rounding of B`);
        }
        assert.equal(header.tensors.length, 2 * 3 * MODULE_TYPES.length);
    });

    test("is content-addressed: scales, adapters and calibration each change the name", () => {
        const names = new Set([
            fusedMixFileName(mix, tiny.base),
            fusedMixFileName(
                {...mix, adapters: mix.adapters.map((a, i) => (i === 0 ? {...a, scale: 0.5} : a))},
                tiny.base,
            ),
            fusedMixFileName({...mix, adapters: [...mix.adapters].reverse()}, tiny.base),
            fusedMixFileName({...mix, calibration: null}, tiny.base),
            fusedMixFileName({...mix, calibration: {sha256: "0".repeat(64)}}, tiny.base),
            fusedMixFileName(mix, {fingerprint: "e".repeat(64)}),
        ]);
        assert.equal(names.size, 6);
    });

    test("is reused when intact, rebuilt when damaged or truncated", async () => {
        const cacheDir = join(work, "cache-reuse");
        const first = await fuseMix(mix, tiny.base, cacheDir);
        const good = await readFile(first.filePath);
        const inode = (await stat(first.filePath)).ino;
        const again = await fuseMix(mix, tiny.base, cacheDir);
        assert.equal(again.built, false);
        assert.equal((await stat(first.filePath)).ino, inode, "an intact file is not rewritten");

        await writeFile(first.filePath, Buffer.from(good).fill(1, 4096, 4100)); // same size, other bytes
        assert.equal((await fuseMix(mix, tiny.base, cacheDir)).built, true);
        assert.deepEqual(await readFile(first.filePath), good);

        await writeFile(first.filePath, good.subarray(0, 1000));
        assert.equal((await fuseMix(mix, tiny.base, cacheDir)).built, true);
        assert.deepEqual(await readFile(first.filePath), good);

        await rm(`${first.filePath}.json`);
        assert.equal((await fuseMix(mix, tiny.base, cacheDir)).built, true, "no record: not trusted");
    });

    test("is built from verified inputs: a calibration rewritten since it was read changes nothing, an edited adapter is refused", async () => {
        const before = await fuseMix(mix, tiny.base, join(work, "cache-before"));
        // The calibration's parameters are the bytes its sha256 names (read once, in memory):
        // another file under its path does not reach a fused file named by the old hash.
        await boundCalibration(mix.adapters, 14);
        const after = await fuseMix(mix, tiny.base, join(work, "cache-after"));
        assert.ok(after.built);
        assert.deepEqual(await readFile(after.filePath), await readFile(before.filePath));

        // An adapter file is read as the version hashed when it was listed, checked, not hashed again.
        const editedPath = await writeAdapter("edited.gguf", {rank: 8, alpha: 16, seed: 15});
        const listed = await hashFile(editedPath);
        const lying = {...listed, sha256: "0".repeat(64)};
        assert.ok((await readHashedLoraTerms(lying)).terms.size > 0, "the same version is trusted without hashing");
        await writeAdapter("edited.gguf", {rank: 8, alpha: 16, seed: 16});
        await assert.rejects(
            fuseMix(
                {
                    adapters: [{...listed, scale: 1}, mix.adapters[0] as MixToFuse["adapters"][number]],
                    calibration: null,
                },
                tiny.base,
                join(work, "cache-edited"),
            ),
            {
                name: "AdapterChangedError",
                code: "adapter-changed",
                message: /edited\.gguf changed on disk after the engine listed it/,
            },
        );
        await assert.rejects(
            fuseMix({adapters: mix.adapters.slice(0, 1), calibration: null}, tiny.base, join(work, "cache-one")),
            RangeError,
        );
    });
});
