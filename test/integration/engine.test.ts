// The engine on the real default model, with adapters and a calibration the test makes
// (random but valid) until the lab's trained pack is installed: one-pass composition with two
// adapters and a calibration in one context, multi-step, cancellation, and the isolated
// process being replaced after a crash.

import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {ComposeCancelledError} from "../../engine/compose/composer";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../engine/config";
import {Engine, type EngineConfig} from "../../engine/engine";
import {readGgufHeader} from "../../engine/gguf";
import {EngineClient, EngineCrashedError} from "../../engine/isolation/engineClient";
import {describeBaseModel} from "../../engine/model/fingerprint";
import {craftSummarizeFrenchPack, SUMMARIZE_FRENCH} from "../support/craftedPack";
import {realModelPath, repoRoot} from "../support/realModel";

const INPUT =
    "#Person1#: Are you coming to the meeting on Thursday?\n#Person2#: No, my flight was moved. I will send the numbers tonight.";
const sumFr = SUMMARIZE_FRENCH;
/** Without speaker labels: a rewrite of it starts with a generation, not with a kept label. */
const PROSE = "Are you coming to the meeting on Thursday? My flight was moved, so I will send the numbers tonight.";

describe("the engine on the real default model", () => {
    let work: string;
    let config: EngineConfig;
    let engine: Engine;

    before(async () => {
        const modelPath = await realModelPath();
        const base = describeBaseModel(await readGgufHeader(modelPath));
        work = await mkdtemp(join(tmpdir(), "composer-engine-"));
        const {adapterDir, calibrationDir} = await craftSummarizeFrenchPack(work, base);
        config = engineConfig(modelPath, packIn(work, {adapterDirs: [adapterDir], calibrationDirs: [calibrationDir]}), {
            threads: 2,
            maxContexts: 2,
        });
        engine = await Engine.open(config);
    });

    after(async () => {
        await engine?.dispose();
        if (work) await rm(work, {recursive: true, force: true});
    });

    test("auto composes summarize -> French in one pass with two adapters and the LC++ calibration", async () => {
        const streamed: string[] = [];
        const result = await engine.compose(
            {chain: sumFr, method: "auto", input: INPUT, maxTokens: 8},
            {onText: (text) => streamed.push(text)},
        );
        assert.equal(result.method, "lc++");
        assert.equal(result.passes.length, 1);
        const [pass] = result.passes;
        assert.deepEqual(
            pass?.adapters.map((a) => [a.id, Math.fround(a.scale)]),
            [
                ["test.summarize", Math.fround(0.9)],
                ["test.translate-fr", Math.fround(0.8)],
            ],
        );
        assert.match(pass?.calibration ?? "", /summarize\+translate-fr\.lcpp\.gguf$/);
        assert.ok((pass?.generation.generatedTokens ?? 0) > 0, "it generated tokens");
        assert.equal(streamed.join("").trim(), result.text, "the streamed text is the result");
    });

    test("the calibration changes the output distribution: LC++ and linear merge differ", async () => {
        // Random calibrations are large enough that greedy text differs within a few tokens.
        const merged = await engine.compose({chain: sumFr, method: "linear-merge", input: INPUT, maxTokens: 12});
        const calibrated = await engine.compose({chain: sumFr, method: "lc++", input: INPUT, maxTokens: 12});
        const base = await engine.compose({chain: sumFr, method: "zero-shot", input: INPUT, maxTokens: 12});
        assert.notEqual(calibrated.text, merged.text);
        assert.notEqual(merged.text, base.text);
    });

    test("a warm context is reused and carries nothing over: switching back gives the same text", async () => {
        const first = await engine.compose({chain: sumFr, method: "lc++", input: INPUT, maxTokens: 24});
        await engine.compose({chain: sumFr, method: "zero-shot", input: "#Person1#: Hello?", maxTokens: 24});
        const again = await engine.compose({chain: sumFr, method: "lc++", input: INPUT, maxTokens: 24});
        assert.equal(again.passes[0]?.coldContext, false);
        assert.equal(again.text, first.text, "greedy output does not depend on what the context ran before");
    });

    test("multi-step makes one pass per task, feeding each output to the next", async () => {
        const result = await engine.compose({chain: sumFr, method: "multi-step", input: INPUT, maxTokens: 6});
        assert.equal(result.method, "multi-step");
        assert.deepEqual(
            result.passes.map((p) => [p.does, p.adapters.map((a) => a.id)]),
            [
                ["summarize", ["test.summarize"]],
                ["translate:fr", ["test.translate-fr"]],
            ],
        );
        for (const pass of result.passes) assert.ok(pass.generation.generatedTokens > 0);
    });

    // A rewrite streams each sentence once it is settled (a runaway is tried again first).
    const rewrite = parseTaskChain("translate:fr");

    test("cancellation stops generation at once: nothing is produced after the piece it came with", async () => {
        const controller = new AbortController();
        const pieces: string[] = [];
        await assert.rejects(
            engine.compose(
                {chain: rewrite, method: "zero-shot", input: PROSE, maxTokens: 200},
                {
                    signal: controller.signal,
                    onText: (text) => {
                        pieces.push(text);
                        controller.abort();
                    },
                },
            ),
            (error: unknown) => {
                assert.ok(error instanceof ComposeCancelledError);
                // Only the first sentence's generations ran: none for the second was started.
                assert.ok(error.passes.length >= 1);
                for (const pass of error.passes) assert.notEqual(pass.generation.stopReason, "cancelled");
                const kept = error.passes.filter((pass) => !pass.setAside);
                assert.deepEqual(
                    kept.map((pass) => pass.generation.text.trim()),
                    pieces,
                );
                return true;
            },
        );
        assert.equal(pieces.length, 1, "nothing streamed after the cancel");
    });

    test("a cancelled generation leaves nothing behind: the same request then gives the uncancelled text", async () => {
        const request = {chain: rewrite, method: "zero-shot", input: INPUT, maxTokens: 16} as const;
        const whole = await engine.compose(request);
        const controller = new AbortController();
        await assert.rejects(
            engine.compose(request, {signal: controller.signal, onText: () => controller.abort()}),
            ComposeCancelledError,
        );
        assert.equal((await engine.compose(request)).text, whole.text);
    });
});

describe("the isolated engine process", () => {
    test("a killed engine fails the request in flight and the next request starts a new one", async () => {
        const modelPath = await realModelPath();
        const root = repoRoot();
        const work = await mkdtemp(join(tmpdir(), "composer-isolation-"));
        const client = new EngineClient({
            hostScript: join(root, "dist", "engine-host.js"),
            config: engineConfig(modelPath, packIn(work), {threads: 2}),
        });
        try {
            const first = await client.compose({chain: sumFr, method: "zero-shot", input: INPUT, maxTokens: 3});
            assert.ok(first.passes[0]?.generation.generatedTokens);
            const firstPid = client.pid;
            assert.ok(firstPid !== undefined);

            const inFlight = client.compose({
                chain: sumFr,
                method: "zero-shot",
                input: INPUT,
                maxTokens: 200,
                onText: () => client.kill("SIGKILL"),
            });
            await assert.rejects(inFlight, (error: unknown) => {
                assert.ok(error instanceof EngineCrashedError, String(error));
                assert.match((error as Error).message, /stopped \(signal SIGKILL\)/);
                return true;
            });

            const next = await client.compose({chain: sumFr, method: "zero-shot", input: INPUT, maxTokens: 3});
            assert.equal(next.text, first.text, "the new engine answers like the old one (greedy)");
            assert.ok(client.pid !== undefined && client.pid !== firstPid, "a new process runs");

            // Reading a long input is reported across the process boundary, and a cancel then
            // stops it before the first token.
            const controller = new AbortController();
            const reads: [number, number, number][] = [];
            await assert.rejects(
                client.compose({
                    chain: sumFr,
                    method: "zero-shot",
                    input: Array.from({length: 36}, () => INPUT).join("\n"),
                    maxTokens: 3,
                    signal: controller.signal,
                    onPrompt: (evaluated, total, pass) => {
                        reads.push([evaluated, total, pass]);
                        controller.abort();
                    },
                }),
                (error: unknown) => (error as Error).name === "ComposeCancelledError",
            );
            // The cancel crosses two processes, so reading may go on for a batch before it lands.
            assert.ok(reads.length >= 1);
            const [evaluated, total, pass] = reads[0] ?? [0, 0, -1];
            assert.ok(evaluated > 0 && evaluated < total && pass === 0, `read ${evaluated} of ${total}`);
        } finally {
            await client.dispose();
            await rm(work, {recursive: true, force: true});
        }
    });

    test("an engine that cannot open fails the request with the reason instead of hanging", async () => {
        const work = await mkdtemp(join(tmpdir(), "composer-isolation-"));
        const client = new EngineClient({
            hostScript: join(repoRoot(), "dist", "engine-host.js"),
            config: engineConfig(join(work, "missing.gguf"), packIn(work)),
        });
        try {
            await assert.rejects(client.status(), /missing\.gguf/);
        } finally {
            await client.dispose();
            await rm(work, {recursive: true, force: true});
        }
    });
});
