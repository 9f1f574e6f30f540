// A long input is read one batch at a time (engine/runtime/generate.ts) so that a cancel lands
// between batches: on the real default model, the greedy output is token for token what
// node-llama-cpp gives for the whole prompt at once, progress is reported per batch, and a
// cancel during reading stops before the first generated token.

import assert from "node:assert/strict";
import {readFile} from "node:fs/promises";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {getLlama, type LlamaContext, LlamaLogLevel, type LlamaModel, type Token} from "node-llama-cpp";
import {chainPrompt} from "../../engine/compose/prompt";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {GenerationCancelledError, generate, tokenizePrompt} from "../../engine/runtime/generate";
import {realModelPath, repoRoot} from "../support/realModel";

const PROMPT = chainPrompt(parseTaskChain("summarize"));
const MAX_TOKENS = 12;

describe("reading a long input in batches", () => {
    let model: LlamaModel;
    let context: LlamaContext;
    let input: string;
    let promptTokens: Token[];

    before(async () => {
        const llama = await getLlama({logLevel: LlamaLogLevel.error});
        model = await llama.loadModel({modelPath: await realModelPath()});
        context = await model.createContext({contextSize: 2048, sequences: 1, threads: 1});
        const dialogue = await readFile(join(repoRoot(), "samples", "dialogue.txt"), "utf8");
        input = Array.from({length: 12}, () => dialogue.trim()).join("\n");
        promptTokens = tokenizePrompt(model, PROMPT, input);
        assert.ok(promptTokens.length > 2 * context.batchSize, `${promptTokens.length} tokens: over two batches`);
    });

    after(async () => {
        await context?.dispose();
        await model?.dispose();
    });

    test("gives the same greedy tokens as evaluating the whole prompt at once", async () => {
        const reference: Token[] = [];
        const sequence = context.getSequence();
        try {
            for await (const token of sequence.evaluate(promptTokens, {temperature: 0})) {
                if (model.isEogToken(token) || reference.length >= MAX_TOKENS) break;
                reference.push(token);
            }
        } finally {
            sequence.dispose();
        }
        const reads: number[] = [];
        const generation = await generate(context, {...PROMPT, stopStrings: []}, input, {
            maxTokens: MAX_TOKENS,
            onPrompt: (evaluated, total) => {
                assert.equal(total, promptTokens.length);
                reads.push(evaluated);
            },
        });
        assert.equal(generation.text, model.detokenize(reference, false));
        assert.equal(generation.generatedTokens, reference.length);
        const batch = context.batchSize;
        assert.deepEqual(
            reads,
            Array.from({length: Math.ceil(promptTokens.length / batch) - 1}, (_, i) => (i + 1) * batch),
            "one report per full batch before the last",
        );
    });

    test("a cancel while reading stops at the next batch, before any token is generated", async () => {
        const controller = new AbortController();
        const reads: number[] = [];
        await assert.rejects(
            generate(context, PROMPT, input, {
                maxTokens: MAX_TOKENS,
                signal: controller.signal,
                onPrompt: (evaluated) => {
                    reads.push(evaluated);
                    controller.abort();
                },
            }),
            (error: unknown) => {
                assert.ok(error instanceof GenerationCancelledError);
                assert.equal(error.partial.stopReason, "cancelled");
                assert.equal(error.partial.generatedTokens, 0);
                return true;
            },
        );
        assert.deepEqual(reads, [context.batchSize], "stopped after the first batch of the prompt");
    });
});
