// The byte-bounded context pool on the real default model (engine/runtime/contextPool.ts,
// contextMemory.ts): the KV cache the pool charges is exactly what llama.cpp allocates; a
// request's text is the same in the smallest context that holds it and in the largest; and a
// LoRA whose last context is evicted is freed (node-llama-cpp alone would keep it until the model
// is closed) and loads again, with the same text, when a request needs it.

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {mkdtemp, rm, stat} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {adapterGguf} from "../../craft/gguf";
import {chainPrompt} from "../../engine/compose/prompt";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {readGgufHeader, writeGguf} from "../../engine/gguf";
import {ENGINE_MALLOC_TUNABLES} from "../../engine/isolation/hostEnvironment";
import {describeBaseModel} from "../../engine/model/fingerprint";
import {type AttentionShape, attentionShape, kvCacheBytes} from "../../engine/runtime/contextMemory";
import {type ContextMix, ContextPool, contextPoolOptions} from "../../engine/runtime/contextPool";
import {generate} from "../../engine/runtime/generate";
import {type LlamaRuntime, openRuntime} from "../../engine/runtime/llamaRuntime";
import {realModelPath, repoRoot} from "../support/realModel";

const PROMPT = chainPrompt(parseTaskChain("reply"));
const INPUT =
    "Hi Sam, the budget review moved to Friday at 10. Please bring the updated figures and the slides. Thanks, Alex";
const MiB = 2 ** 20;

function rssBytes(): number {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return Number(match?.[1]) * 1024;
}

describe("the KV cache the pool charges", () => {
    test("is what llama.cpp allocates, for each size and batch", async () => {
        const modelPath = await realModelPath();
        const shape = attentionShape(await readGgufHeader(modelPath));
        const logged: string[] = [];
        const llama = await getLlama({
            gpu: false,
            build: "never",
            maxThreads: 1,
            logLevel: LlamaLogLevel.info,
            logger: (_level, message) => logged.push(message),
        });
        const model = await llama.loadModel({modelPath});
        try {
            for (const [contextSize, batchSize] of [
                [1024, 128],
                [2048, 128],
                [8192, 128],
                [8192, 512],
            ] as const) {
                logged.length = 0;
                const context = await model.createContext({contextSize, batchSize, threads: 1, flashAttention: false});
                await context.dispose();
                // llama_kv_cache logs "CPU KV buffer size =    24.00 MiB" once per cache (full and sliding window).
                const allocated = logged.flatMap((line) => {
                    const match = /KV buffer size =\s+([\d.]+) MiB/.exec(line);
                    return match === null ? [] : [Number(match[1]) * MiB];
                });
                assert.equal(allocated.length, 2, `two KV caches (full and sliding window) at ${contextSize}`);
                const charged = kvCacheBytes(shape, {
                    contextSize,
                    batchSize,
                    flashAttention: false,
                    kvCacheType: "F16",
                });
                assert.ok(
                    Math.abs(charged - (allocated[0] ?? 0) - (allocated[1] ?? 0)) < 0.01 * MiB,
                    `${contextSize} tokens, batch ${batchSize}: charged ${charged / MiB} MiB, llama.cpp allocated ${allocated.map((b) => b / MiB).join(" + ")} MiB`,
                );
            }
        } finally {
            await model.dispose();
            await llama.dispose();
        }
    });
});

describe("the pool on the real model", () => {
    let runtime: LlamaRuntime;
    let shape: AttentionShape;
    let work: string;
    let bigLora: string;

    before(async () => {
        const modelPath = await realModelPath();
        const header = await readGgufHeader(modelPath);
        shape = attentionShape(header);
        runtime = await openRuntime({modelPath, threads: 1});
        work = await mkdtemp(join(tmpdir(), "composer-context-memory-"));
        // A LoRA of 61 MB (rank 64 on every projection, F32): large enough to see it freed.
        bigLora = join(work, "big.lora.gguf");
        await writeGguf(bigLora, adapterGguf(describeBaseModel(header), {rank: 64, scale: 0.002, seed: 7}));
    });

    after(async () => {
        await runtime?.dispose();
        if (work) await rm(work, {recursive: true, force: true});
    });

    const pool = (contextMemoryBytes: number) =>
        new ContextPool(
            runtime,
            contextPoolOptions({contextSize: 8192, batchSize: 128, flashAttention: false, contextMemoryBytes}, shape),
        );
    const replyText = (p: ContextPool, mix: ContextMix, tokens: number) =>
        p.use(mix, {tokens}, async ({context}) => ({
            contextSize: context.contextSize,
            text: (await generate(context, PROMPT, INPUT, {maxTokens: 24})).text,
        }));

    test("a request's text is the same in the smallest context that holds it and in the largest", async () => {
        const reply: ContextMix = {
            key: "reply",
            loras: [{filePath: join(repoRoot(), "adapters", "gemma3-270m.reply", "adapter.gguf"), scale: 1}],
        };
        const p = pool(512 * MiB);
        try {
            const small = await replyText(p, reply, 200);
            const large = await replyText(p, reply, 8000);
            assert.equal(small.contextSize, 1024);
            assert.equal(large.contextSize, 8192);
            assert.ok(small.text.length > 0);
            assert.equal(large.text, small.text);
        } finally {
            await p.dispose();
        }
    });

    const loaded = (path: string) =>
        (runtime.model as unknown as {_loraAdapters: Map<string, unknown>})._loraAdapters.has(path);

    test("unloading a LoRA no context uses gives its memory back", async () => {
        const loraBytes = (await stat(bigLora)).size;
        assert.ok(loraBytes > 50e6, `${loraBytes} bytes`);
        const context = await runtime.model.createContext({
            contextSize: 1024,
            threads: 1,
            lora: {adapters: [{filePath: bigLora, scale: 1}]},
        });
        await context.dispose();
        assert.ok(loaded(bigLora), "node-llama-cpp keeps it after its context is gone");
        const before = rssBytes();
        assert.equal(await runtime.unloadLora(bigLora), true);
        const freed = before - rssBytes();
        assert.equal(loaded(bigLora), false);
        // With glibc's defaults part of it stays with the allocator (36-63% came back on a machine
        // with AMX, varying with what the process did before); with the engine process's settings
        // all of it does (isolation/hostEnvironment.ts; scripts/test.mjs runs this stage with them).
        assert.equal(process.env.GLIBC_TUNABLES, ENGINE_MALLOC_TUNABLES, "run with the engine's allocator settings");
        assert.ok(
            freed > 0.9 * loraBytes,
            `RSS fell by ${(freed / 1e6).toFixed(1)} MB for a ${(loraBytes / 1e6).toFixed(1)} MB LoRA`,
        );
        assert.equal(await runtime.unloadLora(bigLora), true, "a LoRA that is not loaded needs nothing");
    });

    test("an evicted context's LoRA is unloaded, and loads again with the same text when needed", async () => {
        const loraBytes = (await stat(bigLora)).size;
        // Room for one context and the big LoRA, not for a second context beside them.
        const one = pool(loraBytes + 50 * MiB);
        const big: ContextMix = {key: "big", loras: [{filePath: bigLora, scale: 1}]};
        const plain: ContextMix = {key: "base", loras: []};
        try {
            const first = await replyText(one, big, 200);
            assert.ok(loaded(bigLora));
            await replyText(one, plain, 200);
            assert.equal(loaded(bigLora), false, "the plain context was created after the LoRA was freed");
            assert.deepEqual(
                one.memory().contexts.map((c) => c.mix),
                ["base"],
            );
            const again = await replyText(one, big, 200);
            assert.equal(again.text, first.text);
            assert.ok(loaded(bigLora));
            assert.ok(one.memory().peakResidentBytes <= loraBytes + 50 * MiB);
        } finally {
            await one.dispose();
        }
    });
});
