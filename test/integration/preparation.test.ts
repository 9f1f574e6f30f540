// Background preparation on the real default model (engine/preparation.ts). node-llama-cpp
// simulates every new context shape in llama.cpp before creating a context of it (~450 ms the
// first time in a process): the engine asks for those estimates itself after it starts, with the
// arguments createContext passes, so that no request waits for one. Checked on node-llama-cpp's
// cache of simulated shapes (internal: if an upgrade renames it, this test says so; CONTRIBUTING's
// upgrade checklist). Then the engine's own preparation: every installed composite's fused LoRA
// made before any request, and closing the engine while it prepares.

import assert from "node:assert/strict";
import {existsSync} from "node:fs";
import {mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {engineConfig, packIn} from "../../engine/config";
import {Engine, type EngineConfig} from "../../engine/engine";
import {readGgufHeader} from "../../engine/gguf";
import {EngineClient} from "../../engine/isolation/engineClient";
import {DEFAULT_ENGINE_LIMITS} from "../../engine/limits";
import {describeBaseModel} from "../../engine/model/fingerprint";
import {type LlamaRuntime, openRuntime} from "../../engine/runtime/llamaRuntime";
import {craftSummarizeFrenchPack, SUMMARIZE_FRENCH} from "../support/craftedPack";
import {realModelPath, repoRoot} from "../support/realModel";

/** The context shapes node-llama-cpp has simulated in this process (each simulation: the slow part of a first context). */
function simulatedShapes(runtime: LlamaRuntime): () => number {
    const cache = (runtime.model.fileInsights as unknown as {_exactContextResourceRequirementsCache?: {keys?: unknown}})
        ._exactContextResourceRequirementsCache;
    assert.ok(
        cache !== undefined && typeof cache.keys === "function",
        "node-llama-cpp no longer has GgufInsights._exactContextResourceRequirementsCache: check how it estimates a new context now (runtime/llamaRuntime.ts estimateContext)",
    );
    return () => [...(cache.keys as () => Iterable<string>).call(cache)].length;
}

describe("preparing context shapes", () => {
    let runtime: LlamaRuntime;

    before(async () => {
        runtime = await openRuntime({modelPath: await realModelPath(), threads: 1});
    });

    after(async () => {
        await runtime?.dispose();
    });

    test("a shape estimated in advance is not simulated again when a context of it is created", async () => {
        const simulated = simulatedShapes(runtime);
        const {batchSize, flashAttention} = DEFAULT_ENGINE_LIMITS;
        const create = (contextSize: number, batch = batchSize) =>
            runtime.model.createContext({contextSize, batchSize: batch, sequences: 1, threads: 1, flashAttention});

        await runtime.estimateContext({contextSize: 1024, batchSize, flashAttention});
        await runtime.estimateContext({contextSize: 2048, batchSize, flashAttention});
        assert.equal(simulated(), 2, "each new shape is simulated once");
        for (const size of [1024, 2048]) await (await create(size)).dispose();
        assert.equal(simulated(), 2, "createContext simulated again a shape estimated in advance");

        // The control: a shape not estimated in advance is simulated when its context is created.
        await (await create(1024, batchSize / 2)).dispose();
        assert.equal(simulated(), 3);
    });
});

describe("an engine preparing in the background", () => {
    let work: string;
    let config: EngineConfig;
    const sumFr = SUMMARIZE_FRENCH;

    before(async () => {
        const modelPath = await realModelPath();
        const base = describeBaseModel(await readGgufHeader(modelPath));
        work = await mkdtemp(join(tmpdir(), "composer-preparation-"));
        const {adapterDir, calibrationDir} = await craftSummarizeFrenchPack(work, base);
        config = engineConfig(modelPath, packIn(work, {adapterDirs: [adapterDir], calibrationDirs: [calibrationDir]}), {
            threads: 1,
        });
    });

    after(async () => {
        if (work) await rm(work, {recursive: true, force: true});
    });

    const fusedFiles = async () =>
        existsSync(config.cacheDir)
            ? (await readdir(config.cacheDir)).filter((name) => /^fused-.*\.gguf$/.test(name))
            : [];

    test("estimates every context shape and fuses every installed composite before a request asks", async () => {
        const engine = await Engine.open(config);
        try {
            assert.deepEqual(await fusedFiles(), []);
            // A fused file of a pack no longer installed, unused for two hours: the preparation forgets it.
            const stale = `fused-${"0".repeat(64)}.lora.gguf`;
            await mkdir(config.cacheDir, {recursive: true});
            await writeFile(join(config.cacheDir, stale), "an older pack's fused mix");
            await writeFile(join(config.cacheDir, `${stale}.json`), "{}\n");
            const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
            await utimes(join(config.cacheDir, `${stale}.json`), twoHoursAgo, twoHoursAgo);
            const report = await engine.prepareInBackground();
            assert.equal(report.finished, true);
            assert.deepEqual(
                report.steps.map((step) => [step.what, step.error ?? null]),
                [
                    ["context shape 1024 tokens", null],
                    ["context shape 2048 tokens", null],
                    ["context shape 4096 tokens", null],
                    ["context shape 8192 tokens", null],
                    ["summarize+translate:fr (lc++) fused LoRA", null],
                    ["unused derived files forgotten", null],
                ],
            );
            const [fused, ...more] = await fusedFiles();
            assert.ok(
                fused !== undefined && more.length === 0,
                "the composite's fused LoRA was made, the stale one deleted",
            );
            assert.notEqual(fused, stale);
            const written = (await stat(join(config.cacheDir, fused))).mtimeMs;
            const input = "Hi Tom, the report is late.";
            const result = await engine.compose({chain: sumFr, method: "auto", input, maxTokens: 2});
            assert.equal(result.method, "lc++");
            assert.equal((await stat(join(config.cacheDir, fused))).mtimeMs, written, "the request made it again");
        } finally {
            await engine.dispose();
        }
    });

    test("closing the engine while it prepares stops the preparation and closes cleanly", async () => {
        const engine = await Engine.open(config);
        const report = engine.prepareInBackground();
        await engine.dispose();
        const done = await report;
        // The step under way when it closed (the first shape's estimate) ends; no other starts.
        assert.equal(done.finished, false);
        assert.deepEqual(
            done.steps.map((step) => [step.what, step.error ?? null]),
            [["context shape 1024 tokens", null]],
        );
    });

    test("the engine process prepares as soon as it opens, and says when it is done", async () => {
        await rm(config.cacheDir, {recursive: true, force: true});
        const client = new EngineClient({hostScript: join(repoRoot(), "dist", "engine-host.js"), config});
        try {
            await client.status();
            const report = await client.preparation();
            assert.equal(report?.finished, true);
            assert.equal(report?.steps.length, 6);
            assert.ok(
                report?.steps.every((step) => step.error === undefined),
                JSON.stringify(report?.steps),
            );
            assert.equal((await fusedFiles()).length, 1, "the engine process fused the composite before any request");
        } finally {
            await client.dispose();
        }
    });
});
