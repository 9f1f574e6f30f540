// Calibration fuzzing on the real default model: seeded mutants of a valid LC and LC++
// calibration go through the checks `composer calibrations verify` runs (full read, the store's
// listing, the binding to installed adapters and the expansion), and every accepted one is
// composed once in one pass by the engine process. Also: a damaged cache file of the composite
// (its adapters and calibration fused into one LoRA) is rebuilt, and the largest values
// validation accepts still give text.
// Counts per probe: test-results/fault/calibrations.json.

import assert from "node:assert/strict";
import {mkdir, mkdtemp, readFile, rm, truncate, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {craftAdapter} from "../../craft/gguf";
import {randomVector, seededRandom} from "../../craft/seededRandom";
import {LORA_STRENGTH_LIMIT, MERGE_WEIGHT_LIMIT} from "../../engine/adapters/limits";
import {AdapterStore} from "../../engine/adapters/store";
import {type Calibration, calibrationFileName} from "../../engine/calibrations/format";
import {fusedMixFileName} from "../../engine/calibrations/fusedMix";
import {readCalibration} from "../../engine/calibrations/read";
import {type AvailableAdapter, CalibrationStore, calibrationFolderName} from "../../engine/calibrations/store";
import {writeCalibration} from "../../engine/calibrations/write";
import {parseTaskChain} from "../../engine/compose/taskChain";
import type {EngineConfig} from "../../engine/engine";
import {isIntactDerivedFile} from "../../engine/files/derivedFile";
import {sha256Text} from "../../engine/files/sha256";
import {readGgufHeader} from "../../engine/gguf";
import type {EngineClient} from "../../engine/isolation/engineClient";
import {type BaseModelStructure, describeBaseModel} from "../../engine/model/fingerprint";
import {realModelPath} from "../support/realModel";
import {
    type CalibrationSeed,
    makeCalibrationSeed,
    mutateCalibration,
    writeCalibrationMutant,
} from "./support/calibrationMutants";
import {composeOnce, faultEngine, faultEngineConfig} from "./support/engineHarness";
import {FaultTally, writeFaultReport} from "./support/faultReport";
import {judgeRefusal, messageProblem, withTimeout} from "./support/verdict";

const SEED = Number(process.env.COMPOSER_FAULT_SEED ?? 15);
const MUTANTS = Math.floor(Number(process.env.COMPOSER_FAULT_MUTANTS ?? 600) / 3);
const CHECK_TIMEOUT_MS = 20_000;
const CHAIN = parseTaskChain("summarize,translate:fr");
const PROMPT = "<start_of_turn>user\nSummarize in French:\n\n{input}<end_of_turn>\n<start_of_turn>model\n";
const MODULES = ["attn_q", "attn_v"] as const;

/** The kind of a store or verify refusal, read from its (code-less) reason. */
function reasonKind(reason: string): string {
    const kinds: [RegExp, string][] = [
        [/trained for base/, "store:base-mismatch"],
        [/must be named/, "store:file-name"],
        [/architecture/, "store:architecture"],
        [/does not fit|has no .* weights/, "store:shape-vs-base"],
        [/is not installed/, "verify:adapter-not-installed"],
        [/has changed since/, "verify:adapter-changed"],
        [/strength|beyond/, "verify:too-strong"],
    ];
    return kinds.find(([pattern]) => pattern.test(reason))?.[1] ?? "store:other";
}

describe("calibration fuzzing through verification and one composition each", () => {
    let work = "";
    let base: BaseModelStructure;
    let client: EngineClient;
    let config: EngineConfig;
    let adapterStore: AdapterStore;
    let calibrationStore: CalibrationStore;
    let folder = "";
    let installed: AvailableAdapter[] = [];
    const engineErrors: string[] = [];
    const seeds: CalibrationSeed[] = [];
    const tally = new FaultTally();
    const started = performance.now();

    const calibration = (parameters: Calibration["parameters"], adapters: Calibration["adapters"]): Calibration => ({
        architecture: base.architecture,
        chain: CHAIN,
        baseFingerprint: base.fingerprint,
        adapters,
        promptTemplate: PROMPT,
        stopStrings: ["<end_of_turn>"],
        training: {fault: true},
        parameters,
    });

    const lcppParameters = (seed: number, rank = 4): Calibration["parameters"] => {
        const random = seededRandom(seed);
        const p1 = new Map();
        const p2 = new Map();
        for (const module of MODULES) {
            const [nIn = 0, nOut = 0] = base.tensors.get(`blk.0.${module}.weight`) ?? [];
            p1.set(module, randomVector(rank * nIn, 0.02, random));
            p2.set(module, randomVector(nOut * rank, 0.02, random));
        }
        return {kind: "lc++", rank, p1, p2};
    };

    const lcParameters = (seed: number): Calibration["parameters"] => {
        const random = seededRandom(seed);
        const p = new Map();
        for (const module of MODULES) {
            const [, nOut = 0] = base.tensors.get(`blk.0.${module}.weight`) ?? [];
            p.set(module, randomVector(nOut, 0.02, random));
        }
        return {kind: "lc", p};
    };

    before(async () => {
        const modelPath = await realModelPath();
        base = describeBaseModel(await readGgufHeader(modelPath));
        work = await mkdtemp(join(tmpdir(), "composer-fault-calibrations-"));
        config = faultEngineConfig(modelPath, work);
        adapterStore = new AdapterStore({bundledDirs: [], writableDir: config.userAdapterDir});
        calibrationStore = new CalibrationStore(config.calibrationDirs);
        folder = join(config.calibrationDirs[0] as string, calibrationFolderName(base));
        await mkdir(folder, {recursive: true});
        client = faultEngine(config, engineErrors);
        const small = {rank: 8, alpha: 16, modules: [...MODULES], layers: [0, 1]};
        for (const [id, task, seed] of [
            ["fault.cal-sum", "summarize", 3],
            ["fault.cal-fr", "translate:fr", 4],
        ] as const)
            await adapterStore.install(
                (await craftAdapter(join(work, "sources", id), base, {...small, id, task, seed})).dir,
                base,
            );
        installed = (await adapterStore.list(base)).flatMap((e) =>
            e.status === "valid" ? [{id: e.id, sha256: e.adapter.sha256, ggufPath: e.adapter.ggufPath}] : [],
        );
        const refs = installed.map((a, i) => ({id: a.id, sha256: a.sha256, mergeWeight: i === 0 ? 1 : 0.8}));
        // cal-fr sorts before cal-sum: put the main task first, as the lab does.
        refs.reverse();
        seeds.push(
            await makeCalibrationSeed("lc++", calibration(lcppParameters(5), refs), join(work, "seed.lcpp.gguf")),
        );
        seeds.push(await makeCalibrationSeed("lc", calibration(lcParameters(6), refs), join(work, "seed.lc.gguf")));
    });

    after(async () => {
        await writeFaultReport({
            group: "calibrations",
            title: "Calibration fuzzing (read, list, verify, one composition per accepted mutant)",
            seed: SEED,
            seconds: (performance.now() - started) / 1000,
            probes: tally.toJSON(),
            examples: Object.fromEntries(tally.examples),
            notes: [
                `${MUTANTS} mutants of an LC++ (rank 4) and an LC calibration for summarize + French over two small adapters; ` +
                    "accepted ones composed in one pass (lc++ or lc, 4 tokens, 1 thread) by the engine process.",
                `engine error log lines: ${engineErrors.length}`,
            ],
        }).catch(() => undefined);
        await client?.dispose();
        if (work) await rm(work, {recursive: true, force: true});
    });

    const pathFor = (kind: "lc" | "lc++") => join(folder, calibrationFileName(CHAIN, kind));

    /** Every check `calibrations verify` makes, then one composition; the outcome counted under `probe`. */
    async function judge(probe: string, name: string, path: string, kind: "lc" | "lc++"): Promise<void> {
        try {
            await withTimeout(readCalibration(path), CHECK_TIMEOUT_MS, "reading the calibration");
        } catch (error) {
            const verdict = judgeRefusal(error);
            if ("refused" in verdict) tally.refused(probe, verdict.refused, verdict.message);
            else tally.failure(probe, name, verdict.problem);
            return;
        }
        const entry = (await withTimeout(calibrationStore.list(base), CHECK_TIMEOUT_MS, "listing")).find(
            (e) => e.path === path,
        );
        const verdict =
            entry === undefined
                ? {ok: false as const, reason: "the store does not list the file"}
                : entry.status === "invalid"
                  ? {ok: false as const, reason: entry.reason}
                  : await withTimeout(calibrationStore.verify(path, installed, base), CHECK_TIMEOUT_MS, "verifying");
        if (!verdict.ok) {
            const problem = messageProblem(verdict.reason);
            if (problem === null) tally.refused(probe, reasonKind(verdict.reason), verdict.reason);
            else tally.failure(probe, name, `${problem}: ${verdict.reason.slice(0, 300)}`);
            return;
        }
        const composed = await composeOnce(client, "summarize,translate:fr", kind, kind);
        if (composed.ok) tally.working(probe);
        else tally.failure(probe, name, composed.problem);
    }

    test("each unmutated seed verifies and composes in one pass", async () => {
        for (const seed of seeds) {
            await writeFile(pathFor(seed.kind), seed.bytes);
            const composed = await composeOnce(client, "summarize,translate:fr", seed.kind, seed.kind);
            assert.ok(composed.ok, composed.ok ? "" : composed.problem);
            await rm(pathFor(seed.kind));
        }
    });

    test(`${MUTANTS} seeded mutants: each refused with a specific reason, or accepted and composed`, async () => {
        const random = seededRandom(SEED + 1);
        const before = tally.total;
        for (let index = 0; index < MUTANTS; index++) {
            const seed = seeds[index % 2] as CalibrationSeed;
            const mutation = mutateCalibration(seed, random);
            const path = pathFor(seed.kind);
            await writeCalibrationMutant(path, mutation);
            await judge(mutation.probe, `#${index} ${seed.label}: ${mutation.detail}`, path, seed.kind);
            await rm(path, {force: true});
        }
        assert.equal(tally.total - before, MUTANTS);
        assert.deepEqual(tally.failures, []);
    });

    test("a damaged fused-composite file is rebuilt before use, by the next engine process", async () => {
        const path = pathFor("lc++");
        await writeFile(path, (seeds[0] as CalibrationSeed).bytes);
        const seed = seeds[0] as CalibrationSeed;
        // The pass's adapters at the merge weights as the file stores them (float32), and the calibration.
        const stored = await readCalibration(path);
        const mix = {
            adapters: stored.adapters.map((a) => ({filePath: "", sha256: a.sha256, scale: a.mergeWeight})),
            calibration: {filePath: path, sha256: sha256Text(seed.bytes)},
        };
        const file = join(config.cacheDir, fusedMixFileName(mix, base));
        const damages: [string, (file: string) => Promise<void>][] = [
            ["truncated to half", async (file) => truncate(file, Math.floor((await readFile(file)).length / 2))],
            [
                "one byte flipped in tensor data",
                async (file) => {
                    const bytes = await readFile(file);
                    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0x40;
                    await writeFile(file, bytes);
                },
            ],
            ["emptied", (file) => writeFile(file, "")],
        ];
        const first = await composeOnce(client, "summarize,translate:fr", "lc++", "lc++");
        assert.ok(first.ok, first.ok ? "" : first.problem);
        assert.ok(await isIntactDerivedFile(file), "the fused file is where its name says");
        for (const [damage, apply] of damages) {
            await apply(file);
            // A new engine process, as after a restart: it has only the file on disk to go by.
            await client.dispose();
            client = faultEngine(config, engineErrors);
            const again = await composeOnce(client, "summarize,translate:fr", "lc++", "lc++");
            if (!again.ok) tally.failure("expanded cache damaged", damage, again.problem);
            else if (!(await isIntactDerivedFile(file))) tally.failure("expanded cache damaged", damage, "not rebuilt");
            else if (again.text !== first.text)
                tally.failure("expanded cache damaged", damage, `text changed: ${again.text}`);
            else tally.working("expanded cache damaged");
        }
        await rm(path);
        assert.deepEqual(tally.failures, []);
    });

    test("the largest values validation accepts still give text: pairs at the strength limit, merge weights at theirs", async () => {
        // Two adapters whose every pair is just under the strength limit, merged at the largest
        // weight, plus an LC++ calibration just under its limit: the worst case the checks let through.
        const strong: Calibration["adapters"][number][] = [];
        for (const [id, task] of [
            ["fault.limit-sum", "summarize"],
            ["fault.limit-fr", "translate:fr"],
        ] as const) {
            const crafted = await craftAdapter(
                join(work, "sources", id),
                base,
                {rank: 8, alpha: 16, id, task, modules: [...MODULES]},
                {
                    editGguf: (g) => {
                        // Rank 1 along one direction: the spectral norm equals the Frobenius bound.
                        for (const t of g.tensors) {
                            t.data.fill(0);
                            const [cols = 1, rows = 1] = t.ne;
                            const a = t.name.endsWith(".lora_a");
                            const scale = Math.sqrt((0.99 * LORA_STRENGTH_LIMIT) / 2);
                            if (a) for (let c = 0; c < cols; c++) t.data[c] = scale / Math.sqrt(cols);
                            else for (let r = 0; r < rows; r++) t.data[r * cols] = scale / Math.sqrt(rows);
                        }
                    },
                },
            );
            await adapterStore.install(crafted.dir, base);
            strong.push({id, sha256: crafted.sha256, mergeWeight: MERGE_WEIGHT_LIMIT});
        }
        const limitParameters = lcppParameters(7);
        if (limitParameters.kind === "lc++")
            for (const module of MODULES) {
                const p1 = limitParameters.p1.get(module) as Float32Array;
                const p2 = limitParameters.p2.get(module) as Float32Array;
                const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
                const factor = Math.sqrt((0.99 * LORA_STRENGTH_LIMIT) / (norm(p1) * norm(p2)));
                for (const v of [p1, p2]) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * factor;
            }
        const path = pathFor("lc++");
        await writeCalibration(path, calibration(limitParameters, strong));
        installed = (await adapterStore.list(base)).flatMap((e) =>
            e.status === "valid" ? [{id: e.id, sha256: e.adapter.sha256, ggufPath: e.adapter.ggufPath}] : [],
        );
        await judge("values at the limits", "strength 99 x weight 10, twice, plus LC++ at 99", path, "lc++");
        await rm(path);
        assert.deepEqual(tally.failures, []);
    });
});
