// Adapter fuzzing on the real default model: seeded mutants of a small valid adapter go through
// validation and install exactly as `composer adapters install` runs them, and every mutant the
// store accepts is composed once by the engine process. The suite fails on a crash of the caller,
// a hang, a refusal without a specific message, or an accepted file that then fails to compose
// (llama.cpp refusing it, an abort, empty text). Counts per probe: test-results/fault/adapters.json.
//
// COMPOSER_FAULT_SEED (default 15) and COMPOSER_FAULT_MUTANTS (default 600, two thirds of them
// adapters, one third calibrations in calibrationFuzz.test.ts) choose the run.

import assert from "node:assert/strict";
import {mkdtemp, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {seededRandom} from "../../craft/seededRandom";
import {AdapterStore} from "../../engine/adapters/store";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {readGgufHeader} from "../../engine/gguf";
import type {EngineClient} from "../../engine/isolation/engineClient";
import {type BaseModelStructure, describeBaseModel} from "../../engine/model/fingerprint";
import {AdapterRefusedError, explainLoraFailure, LlamaLogTail} from "../../engine/runtime/llamaLogTail";
import {openRuntime} from "../../engine/runtime/llamaRuntime";
import {realModelPath} from "../support/realModel";
import {type AdapterSeed, makeAdapterSeed, mutateAdapter, writeAdapterMutant} from "./support/adapterMutants";
import {composeOnce, FAULT_INPUT, faultEngine, faultEngineConfig} from "./support/engineHarness";
import {FaultTally, writeFaultReport} from "./support/faultReport";
import {judgeRefusal, messageProblem, withTimeout} from "./support/verdict";

const SEED = Number(process.env.COMPOSER_FAULT_SEED ?? 15);
const MUTANTS = Math.ceil((Number(process.env.COMPOSER_FAULT_MUTANTS ?? 600) * 2) / 3);
const INSTALL_TIMEOUT_MS = 20_000;

describe("adapter fuzzing through validation, install and one composition each", () => {
    let work = "";
    let base: BaseModelStructure;
    let client: EngineClient;
    let store: AdapterStore;
    const engineErrors: string[] = [];
    const seeds: AdapterSeed[] = [];
    const tally = new FaultTally();

    before(async () => {
        const modelPath = await realModelPath();
        base = describeBaseModel(await readGgufHeader(modelPath));
        work = await mkdtemp(join(tmpdir(), "composer-fault-adapters-"));
        const config = faultEngineConfig(modelPath, work);
        store = new AdapterStore({bundledDirs: [], writableDir: config.userAdapterDir});
        client = faultEngine(config, engineErrors);
        // Small on purpose (2 layers, 2 modules, rank 8: 80 KB in F32), so each mutant is quick to
        // validate and compose; both tensor types llama.cpp takes.
        const options = {task: "summarize", rank: 8, alpha: 16, modules: ["attn_q", "attn_v"] as const, layers: [0, 1]};
        seeds.push(
            await makeAdapterSeed("f32", base, {...options, modules: [...options.modules], tensorType: "F32"}, work),
        );
        seeds.push(
            await makeAdapterSeed(
                "f16",
                base,
                {...options, modules: [...options.modules], tensorType: "F16", seed: 2},
                work,
            ),
        );
    });

    after(async () => {
        await client?.dispose();
        if (work) await rm(work, {recursive: true, force: true});
    });

    test("each unmutated seed installs and composes", async () => {
        for (const seed of seeds) {
            const id = `fault.seed-${seed.label}`;
            const dir = join(work, "mutants", id);
            await writeAdapterMutant(dir, seed, {probe: "seed", detail: "unmutated", gguf: seed.bytes}, id);
            await store.install(dir, base);
            const composed = await composeOnce(client, "summarize", "main-lora", "main-lora");
            assert.ok(composed.ok, composed.ok ? "" : composed.problem);
            await store.remove(id);
        }
    });

    test("when llama.cpp refuses a file anyway, the error carries llama.cpp's own reason", async () => {
        // Files written past the validator on purpose (the engine would never hand them over):
        // what matters here is that llama.cpp's log line reaches the message, not the bare
        // 'Failed to initialize LoRA adapter'.
        const tail = new LlamaLogTail();
        const runtime = await openRuntime({
            modelPath: await realModelPath(),
            threads: 1,
            onLog: (l, m) => tail.record(l, m),
        });
        const seed = seeds[0] as AdapterSeed;
        const layout = seed.layout;
        const broken: [string, Buffer, RegExp][] = [];
        const swapped = Buffer.from(seed.bytes);
        const [first, second] = layout.tensors;
        if (first && second) {
            swapped.writeBigUInt64LE(seed.bytes.readBigUInt64LE(second.offsetAt), first.offsetAt);
            swapped.writeBigUInt64LE(seed.bytes.readBigUInt64LE(first.offsetAt), second.offsetAt);
        }
        broken.push(["offsets swapped", swapped, /has offset \d+, expected \d+/]);
        broken.push(["data cut short", seed.bytes.subarray(0, seed.bytes.length - 100), /not within the file bounds/]);
        const renamed = Buffer.from(seed.bytes);
        for (const tensor of [first, second]) renamed.write("blk.0.attn_x", (tensor?.nameLengthAt ?? 0) + 8, "latin1");
        broken.push(["a tensor the base lacks", renamed, /does not exist in base model/]);
        try {
            for (const [detail, bytes, reason] of broken) {
                const path = join(work, `broken-${detail.replaceAll(" ", "-")}.gguf`);
                await writeFile(path, bytes);
                const since = Date.now();
                const error = await runtime.model
                    .createContext({contextSize: 256, lora: {adapters: [{filePath: path, scale: 1}]}})
                    .then(async (context) => {
                        await context.dispose();
                        return new Error("llama.cpp accepted it");
                    })
                    .catch((e: unknown) => explainLoraFailure(e, tail, since));
                if (
                    error instanceof AdapterRefusedError &&
                    reason.test(error.message) &&
                    messageProblem(error.message) === null
                )
                    tally.refused("llama.cpp refusal explained", detail, error.message);
                else tally.failure("llama.cpp refusal explained", detail, String((error as Error).message ?? error));
            }
        } finally {
            await runtime.dispose();
        }
        assert.deepEqual(tally.failures, []);
    });

    test("an adapter changed on disk after the engine listed it is refused, not loaded", async () => {
        const seed = seeds[0] as AdapterSeed;
        const id = "fault.changed";
        const dir = join(work, "mutants", id);
        // Content no engine has loaded yet (a low mantissa bit): the engine must hash it at first use.
        const original = Buffer.from(seed.bytes);
        original[original.length - 16] = (original[original.length - 16] ?? 0) ^ 0x01;
        await writeAdapterMutant(dir, seed, {probe: "seed", detail: "fresh content", gguf: original}, id);
        const installed = await store.install(dir, base);
        await client.refresh();
        // Edited in place, with no refresh: what a running editor's engine could meet.
        const edited = Buffer.from(original);
        edited[edited.length - 8] = (edited[edited.length - 8] ?? 0) ^ 0x08;
        await writeFile(installed.ggufPath, edited);
        const error = await client
            .compose({chain: parseTaskChain("summarize"), method: "main-lora", input: FAULT_INPUT, maxTokens: 4})
            .then(() => new Error("composed with a changed file"))
            .catch((e: unknown) => e);
        const verdict = judgeRefusal(error);
        if ("refused" in verdict && verdict.refused === "adapter-changed")
            tally.refused("changed after listing", verdict.refused, verdict.message);
        else
            tally.failure(
                "changed after listing",
                "one bit of tensor data",
                "refused" in verdict ? verdict.refused : verdict.problem,
            );
        await store.remove(id);
        assert.deepEqual(tally.failures, []);
    });

    test(`${MUTANTS} seeded mutants: each refused with a specific message, or accepted and composed`, async () => {
        const started = performance.now();
        const random = seededRandom(SEED);
        for (let index = 0; index < MUTANTS; index++) {
            const seed = seeds[index % 3 === 2 ? 1 : 0] as AdapterSeed;
            const id = `fault.m${index}`;
            const mutation = mutateAdapter(seed, random, id);
            const name = `#${index} ${seed.label}: ${mutation.detail}`;
            const dir = join(work, "mutants", id);
            await writeAdapterMutant(dir, seed, mutation, id);
            let installedId: string;
            try {
                installedId = (await withTimeout(store.install(dir, base), INSTALL_TIMEOUT_MS, "install")).manifest.id;
            } catch (error) {
                const verdict = judgeRefusal(error);
                if ("refused" in verdict) tally.refused(mutation.probe, verdict.refused, verdict.message);
                else tally.failure(mutation.probe, name, verdict.problem);
                await rm(dir, {recursive: true, force: true});
                continue;
            }
            const composed = await composeOnce(client, "summarize", "main-lora", "main-lora");
            if (composed.ok) tally.working(mutation.probe);
            else tally.failure(mutation.probe, name, composed.problem);
            await store
                .remove(installedId)
                .catch((error: unknown) => tally.failure(mutation.probe, name, `remove: ${error}`));
            await rm(dir, {recursive: true, force: true});
        }
        const seconds = (performance.now() - started) / 1000;
        await writeFaultReport({
            group: "adapters",
            title: "Adapter fuzzing (validation, install, one composition per accepted mutant)",
            seed: SEED,
            seconds,
            probes: tally.toJSON(),
            examples: Object.fromEntries(tally.examples),
            notes: [
                `${MUTANTS} mutants of two adapters (F32 and F16, rank 8, attn_q + attn_v on layers 0-1) for the default model; ` +
                    "accepted ones composed with main-lora (4 tokens, 1 thread) by the engine process.",
                `engine error log lines: ${engineErrors.length}`,
            ],
        });
        assert.equal(tally.total, MUTANTS + 4);
        assert.deepEqual(tally.failures, []);
    });
});
