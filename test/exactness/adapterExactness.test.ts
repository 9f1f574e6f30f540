// End-to-end exactness: a tiny llama model with two task adapters and expanded LC / LC++
// calibrations, scored by llama.cpp (through node-llama-cpp), must give the same
// log-probabilities as an independent float64 forward pass that applies the method's formulas,
// both with every file loaded as its own LoRA and in the engine's fused form (one LoRA per mix,
// its B in F16: the reference rounds where llama.cpp then rounds).
// This is what ties the lab's training math to what the engine runs.

import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, type TestContext, test} from "node:test";
import {
    type ControlledEvaluateInputItem,
    getLlama,
    type Llama,
    LlamaLogLevel,
    type LlamaModel,
    type Token,
} from "node-llama-cpp";
import {randomVector, seededRandom} from "../../craft/seededRandom";
import {expandCalibration} from "../../engine/calibrations/expand";
import type {Calibration} from "../../engine/calibrations/format";
import {fuseMix, type MixToFuse} from "../../engine/calibrations/fusedMix";
import {MODULE_TYPES, type ModuleType} from "../../engine/calibrations/moduleTypes";
import {readCalibration} from "../../engine/calibrations/read";
import {verifyCalibration} from "../../engine/calibrations/verified";
import {writeCalibration} from "../../engine/calibrations/write";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {hashFile} from "../../engine/files/sha256";
import {readGgufHeader} from "../../engine/gguf";
import {describeBaseModel} from "../../engine/model/fingerprint";
import {type LinearDelta, lcDelta, lcppDelta, loraDelta, referenceLogProbs} from "../support/referenceForward";
import {
    type LoraAdapterValues,
    makeRandomLora,
    makeTinyLlama,
    moduleShape,
    type TinyLlama,
    writeLoraAdapter,
    writeTinyLlama,
} from "../support/tinyLlama";

const TOLERANCE = 1e-4;
/**
 * The fused file's B is F16, so llama.cpp rounds the intermediate A x to F16; where A x lies
 * within float32's summation error of a rounding boundary it lands one F16 step (~1e-3 relative)
 * away from the float64 reference's. Measured 1.0-1.9e-4 with the rounding modelled; 1.6-3.7e-3 with
 * B rounded and A x not, 5.1e-3 against the F32 math: this bound still tells them apart.
 */
const FUSED_TOLERANCE = 5e-4;
const MERGE_WEIGHTS = [0.7, 0.5] as const;
const LCPP_RANK = 4;

interface ScoredAdapter {
    readonly filePath: string;
    readonly scale: number;
}

interface Fixture {
    readonly dir: string;
    readonly model: TinyLlama;
    readonly tokens: readonly number[];
    readonly adapters: readonly {values: LoraAdapterValues; filePath: string; sha256: string}[];
    readonly lcP: Map<ModuleType, Float32Array>;
    readonly lcpp: {p1: Map<ModuleType, Float32Array>; p2: Map<ModuleType, Float32Array>};
    readonly lcPath: string;
    readonly lcppPath: string;
    /** The engine's fused form (calibrations/fusedMix.ts) of the merge, merge + LC and merge + LC++. */
    readonly fused: {readonly merged: string; readonly lc: string; readonly lcpp: string};
}

function randomLcP(model: TinyLlama, seed: number): Map<ModuleType, Float32Array> {
    const random = seededRandom(seed);
    return new Map(
        MODULE_TYPES.map((moduleType) => [
            moduleType,
            randomVector(moduleShape(model.config, moduleType).nOut, 0.02, random),
        ]),
    );
}

function randomLcpp(model: TinyLlama, seed: number): Fixture["lcpp"] {
    const random = seededRandom(seed);
    const p1 = new Map<ModuleType, Float32Array>();
    const p2 = new Map<ModuleType, Float32Array>();
    for (const moduleType of MODULE_TYPES) {
        const {nIn, nOut} = moduleShape(model.config, moduleType);
        p1.set(moduleType, randomVector(LCPP_RANK * nIn, 1 / Math.sqrt(nIn), random));
        p2.set(moduleType, randomVector(nOut * LCPP_RANK, 0.2, random));
    }
    return {p1, p2};
}

/** The largest |log p_llama - log p_reference| over every position and vocabulary entry. */
function maxLogProbDifference(actual: readonly Float64Array[], expected: readonly Float64Array[]): number {
    assert.equal(actual.length, expected.length);
    let max = 0;
    actual.forEach((row, position) => {
        const reference = expected[position] as Float64Array;
        assert.equal(row.length, reference.length);
        for (let token = 0; token < row.length; token++)
            max = Math.max(max, Math.abs((row[token] as number) - (reference[token] as number)));
    });
    return Number.isNaN(max) ? Number.POSITIVE_INFINITY : max;
}

async function buildFixture(): Promise<Fixture> {
    const dir = await mkdtemp(join(tmpdir(), "adapter-exactness-"));
    const model = makeTinyLlama(1);
    const modelPath = join(dir, "tiny-llama.gguf");
    await writeTinyLlama(modelPath, model);

    const adapterValues = [
        makeRandomLora(model, {rank: 8, alpha: 16, seed: 2}),
        makeRandomLora(model, {rank: 16, alpha: 8, seed: 3}),
    ];
    const adapters = [];
    for (const [index, values] of adapterValues.entries()) {
        const filePath = join(dir, `task-${index}.gguf`);
        await writeLoraAdapter(filePath, values);
        adapters.push({values, ...(await hashFile(filePath))});
    }

    const base = describeBaseModel(await readGgufHeader(modelPath));
    const lcP = randomLcP(model, 4);
    const lcpp = randomLcpp(model, 5);
    const common: Omit<Calibration, "parameters"> = {
        architecture: base.architecture,
        chain: parseTaskChain("summarize+translate:fr"),
        baseFingerprint: base.fingerprint,
        adapters: adapters.map((adapter, index) => ({
            id: `tiny.task-${index}`,
            sha256: adapter.sha256,
            mergeWeight: MERGE_WEIGHTS[index] as number,
        })),
        promptTemplate: "{input}",
        stopStrings: [],
        training: {note: "random parameters for the exactness test"},
    };
    const lcFile = join(dir, "summarize+translate-fr.lc.gguf");
    const lcppFile = join(dir, "summarize+translate-fr.lcpp.gguf");
    await writeCalibration(lcFile, {...common, parameters: {kind: "lc", p: lcP}});
    await writeCalibration(lcppFile, {...common, parameters: {kind: "lc++", rank: LCPP_RANK, ...lcpp}});

    // Read and bound to the adapters as the engine's inventory does.
    const installed = adapters.map(({values, ...file}, index) => ({id: `tiny.task-${index}`, ...file}));
    const verified = async (filePath: string) => {
        const verdict = verifyCalibration(await readCalibration(filePath), installed, base);
        if (!verdict.ok) throw verdict.error;
        return verdict.calibration;
    };
    const cacheDir = join(dir, "cache");
    const lcPath = await expandCalibration(await verified(lcFile), base, cacheDir);
    const lcppPath = await expandCalibration(await verified(lcppFile), base, cacheDir);

    const merged: MixToFuse = {
        adapters: installed.map((adapter, index) => ({...adapter, scale: MERGE_WEIGHTS[index] as number})),
        calibration: null,
    };
    const withCalibration = async (filePath: string): Promise<MixToFuse> => ({
        ...merged,
        calibration: await verified(filePath),
    });
    const fused = {
        merged: (await fuseMix(merged, base, cacheDir)).filePath,
        lc: (await fuseMix(await withCalibration(lcFile), base, cacheDir)).filePath,
        lcpp: (await fuseMix(await withCalibration(lcppFile), base, cacheDir)).filePath,
    };

    // Bytes 0..255 are the byte-level tokens; start with BOS like a real prompt.
    const tokens = [model.bosId, ...Buffer.from("Merge, then calibrate: one pass!", "utf8")];
    return {dir, model, tokens, adapters, lcP, lcpp, lcPath, lcppPath, fused};
}

describe("llama.cpp with adapters and expanded calibrations matches a float64 reference", () => {
    let fixture: Fixture;
    let llama: Llama;
    let llamaModel: LlamaModel;

    before(async () => {
        fixture = await buildFixture();
        llama = await getLlama({gpu: false, build: "never", maxThreads: 2, logLevel: LlamaLogLevel.warn});
        llamaModel = await llama.loadModel({modelPath: join(fixture.dir, "tiny-llama.gguf")});
    });

    after(async () => {
        await llamaModel?.dispose();
        await llama?.dispose();
        if (fixture !== undefined) await rm(fixture.dir, {recursive: true, force: true});
    });

    async function llamaLogProbs(adapters: readonly ScoredAdapter[]): Promise<Float64Array[]> {
        const context = await llamaModel.createContext({
            contextSize: 128,
            // Flash attention and an F16 KV cache each add ~1e-3 of noise on CPU.
            flashAttention: false,
            experimentalKvCacheKeyType: "F32",
            experimentalKvCacheValueType: "F32",
            threads: 2,
            ...(adapters.length > 0 ? {lora: {adapters: [...adapters]}} : {}),
        });
        try {
            const results = await context
                .getSequence()
                .controlledEvaluate(
                    fixture.tokens.map(
                        (token): ControlledEvaluateInputItem => [token as Token, {generateNext: {probabilities: true}}],
                    ),
                );
            return results.map((result, position) => {
                const probabilities = result?.next.probabilities;
                assert.ok(probabilities !== undefined, `no probabilities at position ${position}`);
                const logProbs = new Float64Array(fixture.model.tokens.length).fill(Number.NEGATIVE_INFINITY);
                for (const [token, probability] of probabilities) logProbs[token] = Math.log(probability);
                return logProbs;
            });
        } finally {
            await context.dispose();
        }
    }

    const mergedAdapters = (): ScoredAdapter[] =>
        fixture.adapters.map((adapter, index) => ({filePath: adapter.filePath, scale: MERGE_WEIGHTS[index] as number}));
    const mergedDeltas = (): LinearDelta[] =>
        fixture.adapters.map((adapter, index) => loraDelta(adapter.values, MERGE_WEIGHTS[index] as number));
    const taskAValues = () => fixture.adapters.map((adapter) => adapter.values);

    // llama.cpp's scores per configuration, computed once: the negative control reuses the LC run.
    const scored = new Map<string, Promise<Float64Array[]>>();
    const llamaLogProbsOnce = (label: string, adapters: readonly ScoredAdapter[]) => {
        const cached = scored.get(label) ?? llamaLogProbs(adapters);
        scored.set(label, cached);
        return cached;
    };

    /**
     * Asserts llama.cpp matches the reference for `deltas`, and that the last delta really
     * changes the output (else a match would prove nothing about it).
     */
    async function assertMatches(
        t: TestContext,
        label: string,
        adapters: readonly ScoredAdapter[],
        deltas: readonly LinearDelta[],
        tolerance = TOLERANCE,
    ): Promise<void> {
        const actual = await llamaLogProbsOnce(label, adapters);
        const expected = referenceLogProbs(fixture.model, fixture.tokens, deltas);
        const difference = maxLogProbDifference(actual, expected);
        t.diagnostic(`${label}: max |Δ log p| = ${difference.toExponential(2)}`);
        assert.ok(difference < tolerance, `${label}: max |Δ log p| ${difference} >= ${tolerance}`);
        if (deltas.length > 0) {
            const withoutLast = referenceLogProbs(fixture.model, fixture.tokens, deltas.slice(0, -1));
            const effect = maxLogProbDifference(expected, withoutLast);
            t.diagnostic(`${label}: effect of the last delta on log p = ${effect.toExponential(2)}`);
            assert.ok(effect > 100 * tolerance, `${label}: the last delta barely changes the output (${effect})`);
        }
    }

    test("base model", async (t) => {
        await assertMatches(t, "base", [], []);
    });

    test("base + two task adapters at merge weights 0.7 and 0.5", async (t) => {
        await assertMatches(t, "merged", mergedAdapters(), mergedDeltas());
    });

    test("merged + expanded LC calibration equals p (1^T A_cat x)", async (t) => {
        await assertMatches(
            t,
            "merged + LC",
            [...mergedAdapters(), {filePath: fixture.lcPath, scale: 1}],
            [...mergedDeltas(), lcDelta(fixture.lcP, taskAValues())],
        );
    });

    test("merged + expanded LC++ calibration equals P2 (P1 x)", async (t) => {
        await assertMatches(
            t,
            "merged + LC++",
            [...mergedAdapters(), {filePath: fixture.lcppPath, scale: 1}],
            [...mergedDeltas(), lcppDelta(fixture.lcpp.p1, fixture.lcpp.p2, LCPP_RANK)],
        );
    });

    // The fused file stores B in F16 (adapters/fuse.ts): the reference rounds where llama.cpp
    // then rounds, B with its factor and the intermediate A x, and nowhere else.
    const fusedMergedDeltas = (): LinearDelta[] =>
        fixture.adapters.map((adapter, index) => loraDelta(adapter.values, MERGE_WEIGHTS[index] as number, "f16-b"));

    test("fused: the two task adapters as one LoRA", async (t) => {
        await assertMatches(
            t,
            "fused merged",
            [{filePath: fixture.fused.merged, scale: 1}],
            fusedMergedDeltas(),
            FUSED_TOLERANCE,
        );
    });

    test("fused: merged + LC as one LoRA equals the unfused math with B in F16", async (t) => {
        await assertMatches(
            t,
            "fused merged + LC",
            [{filePath: fixture.fused.lc, scale: 1}],
            [...fusedMergedDeltas(), lcDelta(fixture.lcP, taskAValues(), "f16-b")],
            FUSED_TOLERANCE,
        );
    });

    test("fused: merged + LC++ as one LoRA equals the unfused math with B in F16", async (t) => {
        await assertMatches(
            t,
            "fused merged + LC++",
            [{filePath: fixture.fused.lcpp, scale: 1}],
            [...fusedMergedDeltas(), lcppDelta(fixture.lcpp.p1, fixture.lcpp.p2, LCPP_RANK, "f16-b")],
            FUSED_TOLERANCE,
        );
    });

    test("fused: the F16 rounding is there, and the bound tells it apart from the F32 math", async (t) => {
        const actual = await llamaLogProbsOnce("fused merged + LC++", [{filePath: fixture.fused.lcpp, scale: 1}]);
        const unrounded = referenceLogProbs(fixture.model, fixture.tokens, [
            ...mergedDeltas(),
            lcppDelta(fixture.lcpp.p1, fixture.lcpp.p2, LCPP_RANK),
        ]);
        const difference = maxLogProbDifference(actual, unrounded);
        t.diagnostic(`fused merged + LC++ against the F32 math: max |Δ log p| = ${difference.toExponential(2)}`);
        assert.ok(difference > 2 * FUSED_TOLERANCE, `the fused file looks unrounded (${difference})`);
    });

    test("negative control: a reference with another seed's LC parameters does not match", async (t) => {
        const actual = await llamaLogProbsOnce("merged + LC", [
            ...mergedAdapters(),
            {filePath: fixture.lcPath, scale: 1},
        ]);
        const wrongP = randomLcP(fixture.model, 99);
        const expected = referenceLogProbs(fixture.model, fixture.tokens, [
            ...mergedDeltas(),
            lcDelta(wrongP, taskAValues()),
        ]);
        const difference = maxLogProbDifference(actual, expected);
        t.diagnostic(`negative control (wrong LC p): max |Δ log p| = ${difference.toExponential(2)}`);
        assert.ok(difference > 100 * TOLERANCE, `a wrong calibration should differ clearly, got ${difference}`);
    });
});
