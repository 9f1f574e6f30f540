// Calibration files (docs/formats.md, sections 3 and 4): the compact format's round trip and
// every read error, the expansion's math against the method's formulas, padding, the
// content-addressed cache, and the store's listing and verification.

import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import {mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {basename, join} from "node:path";
import {after, before, describe, test} from "node:test";
import {randomVector, seededRandom} from "../../craft/seededRandom";
import {paddedRank} from "../../engine/adapters/fuse";
import {expandCalibration, expandedCalibrationFileName} from "../../engine/calibrations/expand";
import {
    type Calibration,
    type CalibrationErrorCode,
    CalibrationFormatError,
    calibrationFileName,
    type StoredCalibration,
} from "../../engine/calibrations/format";
import {MODULE_TYPES, type ModuleType} from "../../engine/calibrations/moduleTypes";
import {readCalibration, readCalibrationSummary} from "../../engine/calibrations/read";
import {CalibrationStore} from "../../engine/calibrations/store";
import {type AdapterFile, type VerifiedCalibration, verifyCalibration} from "../../engine/calibrations/verified";
import {writeCalibration} from "../../engine/calibrations/write";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {isIntactDerivedFile as isIntactExpansion} from "../../engine/files/derivedFile";
import {fileVersion} from "../../engine/files/fileVersion";
import {type HashedFile, hashFile} from "../../engine/files/sha256";
import {
    type GgufHeader,
    type GgufTensorToWrite,
    type GgufValue,
    ggufF32Array,
    ggufString,
    ggufStringArray,
    ggufU32,
    readGgufHeader,
    readTensorF32,
    writeGguf,
} from "../../engine/gguf";
import type {BaseModelStructure} from "../../engine/model/fingerprint";
import {
    type LoraAdapterValues,
    makeRandomLora,
    makeTinyLlama,
    moduleShape,
    type TinyLlama,
    writeLoraAdapter,
} from "../support/tinyLlama";

const model: TinyLlama = makeTinyLlama(11);
const FINGERPRINT = "0123456789ab".padEnd(64, "f");
const base: BaseModelStructure = {
    architecture: "llama",
    fingerprint: FINGERPRINT,
    name: "tiny",
    tensors: new Map([...model.weights].map(([name, tensor]) => [name, [...tensor.ne]] as const)),
};
const LCPP_RANK = 4;

function randomLcP(seed: number): Map<ModuleType, Float32Array> {
    const random = seededRandom(seed);
    return new Map(MODULE_TYPES.map((m) => [m, randomVector(moduleShape(model.config, m).nOut, 0.1, random)]));
}

function randomLcpp(seed: number): {p1: Map<ModuleType, Float32Array>; p2: Map<ModuleType, Float32Array>} {
    const random = seededRandom(seed);
    const p1 = new Map<ModuleType, Float32Array>();
    const p2 = new Map<ModuleType, Float32Array>();
    for (const m of MODULE_TYPES) {
        const {nIn, nOut} = moduleShape(model.config, m);
        p1.set(m, randomVector(LCPP_RANK * nIn, 0.2, random));
        p2.set(m, randomVector(nOut * LCPP_RANK, 0.2, random));
    }
    return {p1, p2};
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function calibrationWith(parameters: Calibration["parameters"], adapterShas: readonly string[]): Calibration {
    return {
        architecture: "llama",
        chain: parseTaskChain("reply+tone:casual"),
        baseFingerprint: FINGERPRINT,
        adapters: adapterShas.map((sha, index) => ({
            id: `tiny.task-${index}`,
            sha256: sha,
            mergeWeight: 0.7 - index / 5,
        })),
        promptTemplate: "<user>{input}</user>",
        stopStrings: ["</s>"],
        training: {steps: 10, losses: [2.5, 1.25]},
        parameters,
    };
}

function matVec(matrix: Float32Array, rows: number, cols: number, x: Float64Array): Float64Array {
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += (matrix[r * cols + c] as number) * (x[c] as number);
        out[r] = sum;
    }
    return out;
}

function maxRelativeError(actual: Float64Array, expected: Float64Array): number {
    let scale = 0;
    let error = 0;
    for (let i = 0; i < expected.length; i++) {
        scale = Math.max(scale, Math.abs(expected[i] as number));
        error = Math.max(error, Math.abs((actual[i] as number) - (expected[i] as number)));
    }
    return error / scale;
}

/** What llama.cpp adds for one expanded pair: (alpha / r) B (A x), read from the expanded file. */
async function expandedDelta(header: GgufHeader, baseName: string, x: Float64Array): Promise<Float64Array | null> {
    const a = header.tensors.find((t) => t.name === `${baseName}.lora_a`);
    const b = header.tensors.find((t) => t.name === `${baseName}.lora_b`);
    if (a === undefined || b === undefined) return null;
    const [nIn, rank] = a.ne as [number, number];
    const [, nOut] = b.ne as [number, number];
    const alpha = header.metadata.get("adapter.lora.alpha")?.value as number;
    const ax = matVec(await readTensorF32(header, a.name), rank, nIn, x);
    const bax = matVec(await readTensorF32(header, b.name), nOut, rank, ax);
    return bax.map((value) => (value * alpha) / rank);
}

let dir: string;
const adapters: {values: LoraAdapterValues; ggufPath: string; sha256: string; hashed: HashedFile}[] = [];

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "calibration-unit-"));
    const values = [
        makeRandomLora(model, {rank: 8, alpha: 16, seed: 21}),
        makeRandomLora(model, {rank: 16, alpha: 16, seed: 22}),
    ];
    for (const [index, adapter] of values.entries()) {
        const ggufPath = join(dir, `adapter-${index}.gguf`);
        await writeLoraAdapter(ggufPath, adapter);
        adapters.push({
            values: adapter,
            ggufPath,
            sha256: sha256(await readFile(ggufPath)),
            hashed: await hashFile(ggufPath),
        });
    }
});

after(async () => {
    await rm(dir, {recursive: true, force: true});
});

const adapterShas = () => adapters.map((adapter) => adapter.sha256);
/** The adapters as the engine lists them: id, and the file as hashed. */
const installedAdapters = (): AdapterFile[] =>
    adapters.map((adapter, index) => ({id: `tiny.task-${index}`, ...adapter.hashed}));

/** `stored` bound to the installed adapters, as the engine's inventory binds it. */
function bound(
    stored: StoredCalibration,
    installed: readonly AdapterFile[] = installedAdapters(),
): VerifiedCalibration<AdapterFile> {
    const verdict = verifyCalibration(stored, installed, base);
    if (!verdict.ok) throw verdict.error;
    return verdict.calibration;
}

describe("compact calibration format", () => {
    test("file names follow the chain and kind", () => {
        assert.equal(
            calibrationFileName(parseTaskChain("summarize,translate:fr"), "lc++"),
            "summarize+translate-fr.lcpp.gguf",
        );
        assert.equal(calibrationFileName(parseTaskChain("reply+tone:casual"), "lc"), "reply+tone-casual.lc.gguf");
    });

    test("LC round trip", async () => {
        const p = randomLcP(1);
        const written = calibrationWith({kind: "lc", p}, adapterShas());
        const path = join(dir, "roundtrip.lc.gguf");
        await writeCalibration(path, written);
        const read = await readCalibration(path);
        assert.deepEqual(read.chain, written.chain);
        assert.equal(read.architecture, "llama");
        assert.equal(read.baseFingerprint, FINGERPRINT);
        assert.deepEqual(
            read.adapters,
            written.adapters.map((adapter) => ({...adapter, mergeWeight: Math.fround(adapter.mergeWeight)})),
        );
        assert.equal(read.promptTemplate, written.promptTemplate);
        assert.deepEqual(read.stopStrings, written.stopStrings);
        assert.deepEqual(read.training, written.training);
        assert.deepEqual(read.parameters, {kind: "lc", p});
        const bytes = await readFile(path);
        // One read: the sha256 is of the bytes parsed, and the version is the file's as it was read.
        assert.deepEqual(read.file, {
            path,
            sha256: sha256(bytes),
            bytes: bytes.length,
            version: await fileVersion(path),
        });

        const summary = await readCalibrationSummary(path);
        assert.equal(summary.kind, "lc");
        assert.equal(summary.chainKey, "reply+tone:casual");
        assert.equal(summary.rank, 1);
        assert.equal(summary.bytes, bytes.length);
        assert.deepEqual([...summary.modules.keys()], [...MODULE_TYPES]);
        assert.equal(
            summary.parameterCount,
            [...p.values()].reduce((n, v) => n + v.length, 0),
        );
    });

    test("LC++ round trip", async () => {
        const {p1, p2} = randomLcpp(2);
        const path = join(dir, "roundtrip.lcpp.gguf");
        await writeCalibration(path, calibrationWith({kind: "lc++", rank: LCPP_RANK, p1, p2}, adapterShas()));
        const read = await readCalibration(path);
        assert.deepEqual(read.parameters, {kind: "lc++", rank: LCPP_RANK, p1, p2});
        const summary = await readCalibrationSummary(path);
        assert.equal(summary.rank, LCPP_RANK);
        const {nIn, nOut} = moduleShape(model.config, "ffn_down");
        assert.deepEqual(summary.modules.get("ffn_down"), {nIn, nOut});
        // A subset of module types is a valid calibration too.
        const onlyQ = join(dir, "only-q.lc.gguf");
        await writeCalibration(
            onlyQ,
            calibrationWith({kind: "lc", p: new Map([["attn_q", new Float32Array(64).fill(1)]])}, adapterShas()),
        );
        assert.deepEqual([...(await readCalibrationSummary(onlyQ)).modules.keys()], ["attn_q"]);
    });

    test("writeCalibration refuses what the reader would reject", async () => {
        const path = join(dir, "refused.gguf");
        const nan = new Map(randomLcP(3));
        nan.set("attn_q", new Float32Array(64).fill(Number.NaN));
        await assertCode(writeCalibration(path, calibrationWith({kind: "lc", p: nan}, adapterShas())), "non-finite");
        const {p1, p2} = randomLcpp(4);
        p2.delete("ffn_up");
        await assertCode(
            writeCalibration(path, calibrationWith({kind: "lc++", rank: LCPP_RANK, p1, p2}, adapterShas())),
            "missing-tensor",
        );
        await assertCode(writeCalibration(path, calibrationWith({kind: "lc", p: randomLcP(5)}, [])), "bad-metadata");
        await assertCode(
            writeCalibration(path, {
                ...calibrationWith({kind: "lc", p: randomLcP(5)}, adapterShas()),
                promptTemplate: "no input",
            }),
            "bad-metadata",
        );
    });
});

/** A calibration file written field by field, so each test can break exactly one thing. */
async function writeRaw(
    name: string,
    change: {metadata?: Record<string, GgufValue | undefined>; tensors?: GgufTensorToWrite[]},
): Promise<string> {
    const metadata = new Map<string, GgufValue>([
        ["general.type", ggufString("calibration")],
        ["general.architecture", ggufString("llama")],
        ["calibration.format_version", ggufU32(1)],
        ["calibration.kind", ggufString("lc++")],
        ["calibration.chain", ggufString("summarize+translate:de")],
        ["calibration.base_fingerprint", ggufString(FINGERPRINT)],
        ["calibration.adapter_ids", ggufStringArray(["a", "b"])],
        ["calibration.adapter_sha256", ggufStringArray(adapterShas())],
        ["calibration.merge_weights", ggufF32Array([0.5, 0.5])],
        ["calibration.rank", ggufU32(2)],
        ["calibration.prompt_template", ggufString("{input}")],
        ["calibration.stop_strings", ggufStringArray([])],
        ["calibration.training", ggufString("{}")],
    ]);
    for (const [key, value] of Object.entries(change.metadata ?? {})) {
        if (value === undefined) metadata.delete(key);
        else metadata.set(key, value);
    }
    const tensors = change.tensors ?? [
        {name: "cal.attn_q.p1", ne: [64, 2], type: "F32", data: new Float32Array(128).fill(0.5)},
        {name: "cal.attn_q.p2", ne: [2, 64], type: "F32", data: new Float32Array(128).fill(0.25)},
    ];
    const path = join(dir, name);
    await writeGguf(path, {metadata: [...metadata], tensors});
    return path;
}

async function assertCode(promise: Promise<unknown>, code: CalibrationErrorCode): Promise<void> {
    await assert.rejects(promise, (error: unknown) => {
        assert.ok(error instanceof CalibrationFormatError, `expected a CalibrationFormatError, got ${error}`);
        assert.equal(error.code, code, error.message);
        return true;
    });
}

describe("reading a calibration rejects", () => {
    test("a valid raw file is accepted (the baseline for the cases below)", async () => {
        const read = await readCalibration(await writeRaw("raw-ok.gguf", {}));
        assert.equal(read.parameters.kind, "lc++");
    });

    test("a file that is not GGUF", async () => {
        const path = join(dir, "not-gguf.gguf");
        await writeFile(path, "definitely not a gguf file");
        await assertCode(readCalibration(path), "not-gguf");
    });

    test("a wrong general.type (e.g. a LoRA adapter)", async () => {
        await assertCode(readCalibration(adapters[0]?.ggufPath as string), "wrong-type");
        const path = await writeRaw("type.gguf", {metadata: {"general.type": ggufString("model")}});
        await assertCode(readCalibrationSummary(path), "wrong-type");
    });

    test("an unsupported format version", async () => {
        const path = await writeRaw("version.gguf", {metadata: {"calibration.format_version": ggufU32(2)}});
        await assertCode(readCalibration(path), "unsupported-version");
    });

    test("an unknown kind", async () => {
        const path = await writeRaw("kind.gguf", {metadata: {"calibration.kind": ggufString("lc+++")}});
        await assertCode(readCalibration(path), "unknown-kind");
    });

    test("missing or ill-typed metadata, and a non-canonical chain", async () => {
        await assertCode(
            readCalibration(await writeRaw("no-chain.gguf", {metadata: {"calibration.chain": undefined}})),
            "bad-metadata",
        );
        await assertCode(
            readCalibration(
                await writeRaw("chain-comma.gguf", {
                    metadata: {"calibration.chain": ggufString("summarize,translate:de")},
                }),
            ),
            "bad-metadata",
        );
        await assertCode(
            readCalibration(await writeRaw("rank-type.gguf", {metadata: {"calibration.rank": ggufString("2")}})),
            "bad-metadata",
        );
        await assertCode(
            readCalibration(await writeRaw("json.gguf", {metadata: {"calibration.training": ggufString("{not json")}})),
            "bad-metadata",
        );
        await assertCode(
            readCalibration(
                await writeRaw("sha.gguf", {metadata: {"calibration.adapter_sha256": ggufStringArray(["x", "y"])}}),
            ),
            "bad-metadata",
        );
    });

    test("adapter arrays of different lengths", async () => {
        const path = await writeRaw("lengths.gguf", {metadata: {"calibration.merge_weights": ggufF32Array([0.5])}});
        await assertCode(readCalibration(path), "array-length-mismatch");
    });

    test("a missing tensor", async () => {
        const half = await writeRaw("half.gguf", {
            tensors: [{name: "cal.attn_q.p1", ne: [64, 2], type: "F32", data: new Float32Array(128)}],
        });
        await assertCode(readCalibration(half), "missing-tensor");
        await assertCode(readCalibration(await writeRaw("none.gguf", {tensors: []})), "missing-tensor");
    });

    test("an unexpected tensor", async () => {
        const lcTensorInLcpp = await writeRaw("extra.gguf", {
            tensors: [{name: "cal.attn_q.p", ne: [64], type: "F32", data: new Float32Array(64)}],
        });
        await assertCode(readCalibration(lcTensorInLcpp), "unexpected-tensor");
        const unknownModule = await writeRaw("module.gguf", {
            tensors: [{name: "cal.lm_head.p", ne: [64], type: "F32", data: new Float32Array(64)}],
            metadata: {"calibration.kind": ggufString("lc"), "calibration.rank": ggufU32(1)},
        });
        await assertCode(readCalibration(unknownModule), "unexpected-tensor");
    });

    test("a tensor that is not F32", async () => {
        const path = await writeRaw("f16.gguf", {
            tensors: [
                {name: "cal.attn_q.p1", ne: [64, 2], type: "F16", data: new Float32Array(128)},
                {name: "cal.attn_q.p2", ne: [2, 64], type: "F32", data: new Float32Array(128)},
            ],
        });
        await assertCode(readCalibration(path), "tensor-type");
    });

    test("shape mismatches", async () => {
        const wrongRank = await writeRaw("rank.gguf", {
            tensors: [
                {name: "cal.attn_q.p1", ne: [64, 3], type: "F32", data: new Float32Array(192)},
                {name: "cal.attn_q.p2", ne: [3, 64], type: "F32", data: new Float32Array(192)},
            ],
        });
        await assertCode(readCalibration(wrongRank), "shape-mismatch");
        const matrixP = await writeRaw("matrix-p.gguf", {
            tensors: [{name: "cal.attn_q.p", ne: [64, 2], type: "F32", data: new Float32Array(128)}],
            metadata: {"calibration.kind": ggufString("lc"), "calibration.rank": ggufU32(1)},
        });
        await assertCode(readCalibration(matrixP), "shape-mismatch");
        const lcRank = await writeRaw("lc-rank.gguf", {
            tensors: [{name: "cal.attn_q.p", ne: [64], type: "F32", data: new Float32Array(64)}],
            metadata: {"calibration.kind": ggufString("lc"), "calibration.rank": ggufU32(4)},
        });
        await assertCode(readCalibration(lcRank), "bad-metadata");
    });

    test("non-finite values (found when values are read, not in a header-only summary)", async () => {
        const data = new Float32Array(128).fill(0.5);
        data[77] = Number.POSITIVE_INFINITY;
        const path = await writeRaw("inf.gguf", {
            tensors: [
                {name: "cal.attn_q.p1", ne: [64, 2], type: "F32", data: new Float32Array(128)},
                {name: "cal.attn_q.p2", ne: [2, 64], type: "F32", data},
            ],
        });
        await readCalibrationSummary(path);
        await assertCode(readCalibration(path), "non-finite");
        const weights = await writeRaw("nan-weight.gguf", {
            metadata: {"calibration.merge_weights": ggufF32Array([0.5, Number.NaN])},
        });
        await assertCode(readCalibrationSummary(weights), "non-finite");
    });
});

describe("finite but extreme calibrations are refused", () => {
    test("merge weights outside (0, 10], as the reader and the writer agree", async () => {
        for (const weights of [
            [0.5, 1e30],
            [0.5, 11],
            [-1, 0.5],
            [0, 0.5],
        ]) {
            const path = await writeRaw(`weight-${weights.join("_")}.gguf`, {
                metadata: {"calibration.merge_weights": ggufF32Array(weights)},
            });
            await assert.rejects(readCalibrationSummary(path), {
                code: "value-out-of-range",
                message: /merge weight .* is outside \(0, 10\] \(trained calibrations use 1\)/,
            });
        }
        const huge = calibrationWith({kind: "lc", p: randomLcP(5)}, adapterShas());
        await assertCode(
            writeCalibration(join(dir, "huge-weight.gguf"), {
                ...huge,
                adapters: huge.adapters.map((adapter) => ({...adapter, mergeWeight: 1e30})),
            }),
            "value-out-of-range",
        );
    });

    test("a tensor value beyond ±1000 (FLT_MAX) and an LC++ pair stronger than 100", async () => {
        const data = new Float32Array(128).fill(0.25);
        data[9] = 3.4028234663852886e38;
        const flt = await writeRaw("flt-max.gguf", {
            tensors: [
                {name: "cal.attn_q.p1", ne: [64, 2], type: "F32", data: new Float32Array(128).fill(0.5)},
                {name: "cal.attn_q.p2", ne: [2, 64], type: "F32", data},
            ],
        });
        await assert.rejects(readCalibration(flt), {
            code: "value-out-of-range",
            message: /tensor cal\.attn_q\.p2 holds 3\.4028234663852886e\+38 at index 9; values must lie within ±1000/,
        });
        // ‖P1‖ * ‖P2‖ = √128 * √128 = 128 with every value 1.
        const strong = await writeRaw("strong.gguf", {
            tensors: [
                {name: "cal.attn_q.p1", ne: [64, 2], type: "F32", data: new Float32Array(128).fill(1)},
                {name: "cal.attn_q.p2", ne: [2, 64], type: "F32", data: new Float32Array(128).fill(1)},
            ],
        });
        await assert.rejects(readCalibration(strong), {
            code: "too-strong",
            message: /cal\.attn_q has strength ‖P1‖ \* ‖P2‖ = 128, above the limit 100/,
        });
    });

    test("an LC calibration whose expansion would be stronger than 100 is refused when it is expanded", async () => {
        const p = new Map([...randomLcP(81)].map(([m, values]) => [m, values.map(() => 900)]));
        const path = join(dir, "strong.lc.gguf");
        await writeCalibration(path, calibrationWith({kind: "lc", p}, adapterShas()));
        const stored = await readCalibration(path);
        await assert.rejects(expandCalibration(bound(stored), base, join(dir, "cache-strong")), {
            name: "CalibrationExpansionError",
            code: "too-strong",
            message:
                /the expanded calibration for blk\.0\.\w+\.weight has strength ‖A‖ \* ‖B‖ = .*, above the limit 100/,
        });
    });
});

describe("expanding a calibration", () => {
    async function writeAndRead(name: string, calibration: Calibration) {
        const path = join(dir, name);
        await writeCalibration(path, calibration);
        return readCalibration(path);
    }

    test("LC: every layer's B (A x) equals p (1^T A_cat x) from the adapters' A's", async () => {
        const p = randomLcP(31);
        const stored = await writeAndRead("expand.lc.gguf", calibrationWith({kind: "lc", p}, adapterShas()));
        const path = await expandCalibration(bound(stored), base, join(dir, "cache"));
        const header = await readGgufHeader(path);
        assert.equal(header.metadata.get("general.type")?.value, "adapter");
        assert.equal(header.metadata.get("adapter.type")?.value, "lora");
        assert.equal(header.metadata.get("general.architecture")?.value, "llama");
        const random = seededRandom(32);
        for (let layer = 0; layer < model.config.nLayer; layer++) {
            for (const m of MODULE_TYPES) {
                const baseName = `blk.${layer}.${m}.weight`;
                const {nIn} = moduleShape(model.config, m);
                const x = Float64Array.from(randomVector(nIn, 1, random));
                let columnSum = 0;
                for (const {values} of adapters) {
                    const pair = values.pairs.get(baseName);
                    if (pair !== undefined) for (const v of matVec(pair.a, values.rank, nIn, x)) columnSum += v;
                }
                const expected = Float64Array.from(p.get(m) as Float32Array, (value) => value * columnSum);
                const actual = await expandedDelta(header, baseName, x);
                assert.ok(actual !== null, `${baseName} is not expanded`);
                assert.ok(
                    maxRelativeError(actual, expected) < 1e-5,
                    `${baseName}: ${maxRelativeError(actual, expected)}`,
                );
            }
        }
    });

    test("LC skips weights no adapter touches (their delta is exactly zero)", async () => {
        const partial: LoraAdapterValues = {
            ...(adapters[0]?.values as LoraAdapterValues),
            pairs: new Map([...(adapters[0]?.values.pairs ?? [])].filter(([name]) => !name.startsWith("blk.1.ffn_up"))),
        };
        const ggufPath = join(dir, "partial-adapter.gguf");
        await writeLoraAdapter(ggufPath, partial);
        const partialFile = await hashFile(ggufPath);
        const stored = await writeAndRead(
            "partial.lc.gguf",
            calibrationWith({kind: "lc", p: randomLcP(33)}, [partialFile.sha256]),
        );
        const path = await expandCalibration(
            bound(stored, [{id: "tiny.task-0", ...partialFile}]),
            base,
            join(dir, "cache"),
        );
        const names = new Set((await readGgufHeader(path)).tensors.map((t) => t.name));
        assert.ok(names.has("blk.0.ffn_up.weight.lora_a"));
        assert.ok(!names.has("blk.1.ffn_up.weight.lora_a"));
        assert.equal(names.size, 2 * (MODULE_TYPES.length * model.config.nLayer - 1));
    });

    test("LC++: every layer's B A equals P2 P1", async () => {
        const {p1, p2} = randomLcpp(41);
        const stored = await writeAndRead(
            "expand.lcpp.gguf",
            calibrationWith({kind: "lc++", rank: LCPP_RANK, p1, p2}, adapterShas()),
        );
        const header = await readGgufHeader(await expandCalibration(bound(stored), base, join(dir, "cache")));
        const random = seededRandom(42);
        for (let layer = 0; layer < model.config.nLayer; layer++) {
            for (const m of MODULE_TYPES) {
                const {nIn, nOut} = moduleShape(model.config, m);
                const x = Float64Array.from(randomVector(nIn, 1, random));
                const expected = matVec(
                    p2.get(m) as Float32Array,
                    nOut,
                    LCPP_RANK,
                    matVec(p1.get(m) as Float32Array, LCPP_RANK, nIn, x),
                );
                const actual = await expandedDelta(header, `blk.${layer}.${m}.weight`, x);
                assert.ok(actual !== null);
                assert.ok(maxRelativeError(actual, expected) < 1e-6);
            }
        }
    });

    test("ranks are zero-padded to 16 with alpha = padded rank, which keeps the product", async () => {
        assert.deepEqual([1, 4, 16, 17].map(paddedRank), [16, 16, 16, 32]);
        const {p1, p2} = randomLcpp(51);
        const stored = await writeAndRead(
            "pad.lcpp.gguf",
            calibrationWith({kind: "lc++", rank: LCPP_RANK, p1, p2}, adapterShas()),
        );
        const header = await readGgufHeader(await expandCalibration(bound(stored), base, join(dir, "cache")));
        assert.equal(header.metadata.get("adapter.lora.alpha")?.value, 16);
        const {nIn, nOut} = moduleShape(model.config, "attn_v");
        const a = header.tensors.find((t) => t.name === "blk.1.attn_v.weight.lora_a");
        const b = header.tensors.find((t) => t.name === "blk.1.attn_v.weight.lora_b");
        assert.deepEqual(a?.ne, [nIn, 16]);
        assert.deepEqual(b?.ne, [16, nOut]);
        const aValues = await readTensorF32(header, "blk.1.attn_v.weight.lora_a");
        const bValues = await readTensorF32(header, "blk.1.attn_v.weight.lora_b");
        // The first rows of A and columns of B are P1 and P2 verbatim; the rest is zero.
        assert.deepEqual(aValues.subarray(0, LCPP_RANK * nIn), p1.get("attn_v"));
        assert.ok(aValues.subarray(LCPP_RANK * nIn).every((v) => v === 0));
        for (let out = 0; out < nOut; out++)
            for (let j = 0; j < 16; j++)
                assert.equal(
                    bValues[out * 16 + j],
                    j < LCPP_RANK ? (p2.get("attn_v") as Float32Array)[out * LCPP_RANK + j] : 0,
                );
    });

    test("the expanded file is content-addressed and reused", async () => {
        const cacheDir = join(dir, "cache-addressing");
        const stored = await writeAndRead(
            "address.lc.gguf",
            calibrationWith({kind: "lc", p: randomLcP(61)}, adapterShas()),
        );
        const first = await expandCalibration(bound(stored), base, cacheDir);
        assert.equal(basename(first), expandedCalibrationFileName(stored.file.sha256, adapterShas()));
        const before = await stat(first);
        const good = await readFile(first);
        assert.ok(before.size > 0);
        // Reused as is when intact: the same file (inode and time), not rewritten.
        assert.equal(await expandCalibration(bound(stored), base, cacheDir), first);
        const after = await stat(first);
        assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs]);
        assert.ok(await isIntactExpansion(first));
        // Damaged (truncated, overwritten) or without its record: rebuilt, byte for byte.
        const damages: [string, () => Promise<void>][] = [
            ["truncated", () => truncate(first, 100)],
            ["overwritten", () => writeFile(first, "marker")],
            [
                "one flipped byte",
                async () => {
                    const flipped = Buffer.from(good);
                    flipped[4000] = (flipped[4000] ?? 0) ^ 0xff;
                    await writeFile(first, flipped);
                },
            ],
            ["record missing", () => rm(`${first}.json`)],
            ["file missing", () => rm(first)],
        ];
        for (const [damage, apply] of damages) {
            await apply();
            assert.equal(await isIntactExpansion(first), false, damage);
            assert.equal(await expandCalibration(bound(stored), base, cacheDir), first);
            assert.deepEqual(await readFile(first), good, damage);
            assert.ok(await isIntactExpansion(first), damage);
        }

        const changed = await writeAndRead(
            "address.lc.gguf",
            calibrationWith({kind: "lc", p: randomLcP(62)}, adapterShas()),
        );
        const second = await expandCalibration(bound(changed), base, cacheDir);
        assert.notEqual(second, first, "a changed calibration file must not reuse the old expansion");

        const names = new Set([
            expandedCalibrationFileName(stored.file.sha256, adapterShas()),
            expandedCalibrationFileName(stored.file.sha256, [...adapterShas()].reverse()),
            expandedCalibrationFileName(stored.file.sha256, [adapterShas()[0] as string, "0".repeat(64)]),
            expandedCalibrationFileName(changed.file.sha256, adapterShas()),
        ]);
        assert.equal(names.size, 4);
    });

    test("a wrong base, missing or changed adapters and misfit shapes are refused where it is bound, each with its code", async () => {
        const stored = await writeAndRead(
            "binding.lc.gguf",
            calibrationWith({kind: "lc", p: randomLcP(71)}, adapterShas()),
        );
        const refusal = (installed: readonly AdapterFile[], against: BaseModelStructure = base) => {
            const verdict = verifyCalibration(stored, installed, against);
            assert.ok(!verdict.ok, "refused");
            return [verdict.error.code, verdict.error.reason];
        };
        const [first, second] = installedAdapters() as [AdapterFile, AdapterFile];
        assert.match(
            refusal([first, second], {...base, fingerprint: "e".repeat(64)}).join(" "),
            /^base-mismatch trained for base/,
        );
        assert.deepEqual(refusal([first]), ["adapter-missing", 'adapter "tiny.task-1" is not installed.']);
        assert.match(
            refusal([first, {...second, sha256: "9".repeat(64)}]).join(" "),
            /^adapter-changed adapter "tiny.task-1" has changed since the calibration was trained \(sha256 9{12}/,
        );
        const smallerBase: BaseModelStructure = {
            ...base,
            tensors: new Map([...base.tensors].map(([name, ne]) => [name, name.includes("ffn_up") ? [64, 96] : ne])),
        };
        assert.match(refusal([first, second], smallerBase).join(" "), /^shape-mismatch cal\.ffn_up does not fit/);

        // Bound by the bytes, in the calibration's order, whatever order or ids the installed list has.
        const renamed = {...first, id: "renamed"};
        const verified = bound(stored, [second, renamed]);
        assert.deepEqual(
            verified.adapters.map((b) => [b.adapter, b.mergeWeight]),
            [
                [renamed, stored.adapters[0]?.mergeWeight],
                [second, stored.adapters[1]?.mergeWeight],
            ],
        );
        assert.equal(verified.sha256, stored.file.sha256);
    });

    test("the expansion reads each adapter as the version hashed: one edited since is refused", async () => {
        const ggufPath = join(dir, "edited-adapter.gguf");
        await writeLoraAdapter(ggufPath, adapters[0]?.values as LoraAdapterValues);
        const listed = await hashFile(ggufPath);
        const stored = await writeAndRead(
            "edited.lc.gguf",
            calibrationWith({kind: "lc", p: randomLcP(72)}, [listed.sha256]),
        );
        const verified = bound(stored, [{id: "tiny.task-0", ...listed}]);
        await writeLoraAdapter(ggufPath, adapters[1]?.values as LoraAdapterValues);
        await assert.rejects(expandCalibration(verified, base, join(dir, "cache-edited")), {
            name: "AdapterChangedError",
            code: "adapter-changed",
        });
    });
});

describe("calibration store", () => {
    test("lists, finds and verifies calibrations per base model", async () => {
        const repoRoot = join(dir, "store-repo");
        const userRoot = join(dir, "store-user");
        const folder = join(repoRoot, FINGERPRINT.slice(0, 12));
        await mkdir(folder, {recursive: true});
        await mkdir(join(userRoot, FINGERPRINT.slice(0, 12)), {recursive: true});
        const chain = parseTaskChain("reply+tone:casual");
        const valid = join(folder, calibrationFileName(chain, "lc"));
        await writeCalibration(valid, calibrationWith({kind: "lc", p: randomLcP(81)}, adapterShas()));
        // Misnamed: holds reply+tone:casual but is named as another chain.
        await writeCalibration(
            join(folder, "summarize.lc.gguf"),
            calibrationWith({kind: "lc", p: randomLcP(82)}, adapterShas()),
        );
        await writeFile(join(folder, "broken.lcpp.gguf"), "broken");
        await writeFile(join(folder, "notes.txt"), "ignored");
        const userLcpp = join(userRoot, FINGERPRINT.slice(0, 12), calibrationFileName(chain, "lc++"));
        const {p1, p2} = randomLcpp(83);
        await writeCalibration(userLcpp, calibrationWith({kind: "lc++", rank: LCPP_RANK, p1, p2}, adapterShas()));

        const store = new CalibrationStore([userRoot, repoRoot, join(dir, "missing-root")]);
        const entries = await store.list(base);
        assert.deepEqual(
            entries.map((entry) => [basename(entry.path), entry.status]),
            [
                ["reply+tone-casual.lcpp.gguf", "valid"],
                ["broken.lcpp.gguf", "invalid"],
                ["reply+tone-casual.lc.gguf", "valid"],
                ["summarize.lc.gguf", "invalid"],
            ],
        );
        const lcEntry = entries[2];
        assert.ok(lcEntry?.status === "valid");
        assert.equal(
            lcEntry.summary.parameterCount,
            [...randomLcP(81).values()].reduce((n, v) => n + v.length, 0),
        );
        assert.deepEqual(
            lcEntry.summary.adapters.map((a) => a.sha256),
            adapterShas(),
        );

        assert.deepEqual(await store.list({...base, fingerprint: "f".repeat(64)}), []);
        assert.equal((await store.find(chain, "lc", base))?.path, valid);
        assert.equal((await store.find(chain, "lc++", base))?.path, userLcpp);
        assert.equal(await store.find(parseTaskChain("summarize"), "lc", base), null);

        const installed = adapters.map((adapter, index) => ({
            id: `tiny.task-${index}`,
            sha256: adapter.sha256,
            ggufPath: adapter.ggufPath,
        }));
        const ok = await store.verify(valid, installed, base);
        assert.ok(ok.ok);
        assert.deepEqual(ok.adapters, installed);
        const missing = await store.verify(valid, installed.slice(1), base);
        assert.ok(!missing.ok && /not installed/.test(missing.reason));
        const changed = await store.verify(
            valid,
            [installed[0], {...installed[1], sha256: "9".repeat(64)}] as typeof installed,
            base,
        );
        assert.ok(!changed.ok && /changed/.test(changed.reason));
        const broken = await store.verify(join(folder, "broken.lcpp.gguf"), installed, base);
        assert.ok(!broken.ok);
    });

    test("the engine's view: each file read whole once per version, bound to the installed adapters, the rest refused with a code", async () => {
        const root = join(dir, "verified-root");
        const folder = join(root, FINGERPRINT.slice(0, 12));
        await mkdir(folder, {recursive: true});
        const chain = parseTaskChain("reply+tone:casual");
        const lc = join(folder, calibrationFileName(chain, "lc"));
        const lcpp = join(folder, calibrationFileName(chain, "lc++"));
        await writeCalibration(lc, calibrationWith({kind: "lc", p: randomLcP(91)}, adapterShas()));
        const {p1, p2} = randomLcpp(92);
        await writeCalibration(lcpp, calibrationWith({kind: "lc++", rank: LCPP_RANK, p1, p2}, adapterShas()));
        await writeFile(join(folder, "broken.lc.gguf"), "broken");
        const reads: string[] = [];
        const store = new CalibrationStore([root], {
            read: (path) => {
                reads.push(basename(path));
                return readCalibration(path);
            },
        });

        const first = await store.verifiedFor(base, installedAdapters());
        assert.deepEqual(first.verified.map((c) => basename(c.filePath)).sort(), [basename(lc), basename(lcpp)].sort());
        assert.deepEqual(
            first.refused.map((r) => [basename(r.path), r.code]),
            [["broken.lc.gguf", "not-gguf"]],
        );
        assert.deepEqual(
            first.verified[0]?.adapters.map((b) => b.adapter),
            installedAdapters(),
        );
        assert.equal(reads.length, 3, "each file read once");

        // A refresh with nothing changed reads only what failed; with an adapter gone, nothing binds.
        reads.length = 0;
        const [kept] = installedAdapters() as [AdapterFile];
        const again = await store.verifiedFor(base, [kept]);
        assert.deepEqual(reads, ["broken.lc.gguf"], "unchanged files are not read again");
        assert.deepEqual(again.verified, []);
        assert.deepEqual(
            again.refused.map((r) => r.code),
            ["not-gguf", "adapter-missing", "adapter-missing"],
        );

        // A file rewritten since is read again; its new bytes give a new sha256.
        reads.length = 0;
        const before = first.verified.find((c) => c.filePath === lc)?.sha256;
        await writeCalibration(lc, calibrationWith({kind: "lc", p: randomLcP(93)}, adapterShas()));
        const third = await store.verifiedFor(base, installedAdapters());
        assert.deepEqual(reads.sort(), ["broken.lc.gguf", basename(lc)].sort());
        const after = third.verified.find((c) => c.filePath === lc)?.sha256;
        assert.equal(after, sha256(await readFile(lc)));
        assert.notEqual(after, before);
    });
});
