// The DRY penalty in DECODING acts on the real default model at temperature 0, through the
// engine's own generate(): on a prompt the base model repeats verbatim, it changes the greedy
// text and leaves fewer verbatim copies. (It does not end this loop: a newline is one of its
// sequence breakers, so a match starts over after each line break; the loop guard stops what is
// left.) And the runtime fact behind `lastTokens` (decoding.ts): node-llama-cpp passes a missing
// lastTokens to llama.cpp as -1, which its llama.cpp clamps to 0, "off", so DRY without it
// changes nothing (checked on 3.21.1 and 3.22.1). Run this after a node-llama-cpp upgrade: a
// runtime that drops DRY fails the first test, one that fixes the default fails the second.

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {getLlama, type LlamaContext, LlamaLogLevel, type LlamaModel, type Token} from "node-llama-cpp";
import {promptTemplate} from "../../engine/compose/prompt";
import {DECODING, type Decoding} from "../../engine/runtime/decoding";
import {generate, tokenizePrompt} from "../../engine/runtime/generate";
import {realModelPath} from "../support/realModel";

// The plain base model continues this sentence verbatim for as long as it is let (measured).
const SENTENCE = "The meeting is on Monday.";
const INPUT = Array.from({length: 4}, () => SENTENCE).join(" ");
const PROMPT = promptTemplate("{input}");
const MAX_TOKENS = 32;
// Only DRY differs between the two: no loop guard, no sentence trimming, same budget.
const WITH_DRY: Decoding = {...DECODING, loopGuard: null, wholeSentences: false};
const WITHOUT_DRY: Decoding = {...WITH_DRY, dry: null};

const copiesOf = (text: string) => text.split(SENTENCE).length - 1;

describe("the DRY penalty on the real default model", () => {
    let model: LlamaModel;
    let context: LlamaContext;

    before(async () => {
        const llama = await getLlama({logLevel: LlamaLogLevel.error});
        model = await llama.loadModel({modelPath: await realModelPath()});
        context = await model.createContext({contextSize: 1024, sequences: 1, threads: 1});
    });

    after(async () => {
        await context?.dispose();
        await model?.dispose();
    });

    test("DECODING's DRY changes greedy text that repeats itself verbatim, leaving fewer copies", async (t) => {
        const plain = await generate(context, PROMPT, INPUT, {maxTokens: MAX_TOKENS, decoding: WITHOUT_DRY});
        const dry = await generate(context, PROMPT, INPUT, {maxTokens: MAX_TOKENS, decoding: WITH_DRY});
        t.diagnostic(`without DRY: ${JSON.stringify(plain.text)}`);
        t.diagnostic(`with DRY:    ${JSON.stringify(dry.text)}`);
        assert.ok(
            copiesOf(plain.text) >= 3,
            `the prompt no longer makes the model loop: ${JSON.stringify(plain.text)}`,
        );
        assert.ok(
            copiesOf(dry.text) < copiesOf(plain.text),
            `DRY did not shorten the loop (${copiesOf(dry.text)} vs ${copiesOf(plain.text)} copies): ${JSON.stringify(dry.text)}`,
        );
    });

    test("node-llama-cpp ignores DRY without lastTokens, which is why DECODING sets it", async () => {
        const {lastTokens: _, ...withoutLastTokens} = DECODING.dry ?? assert.fail("DECODING has no DRY");
        const greedy = async (options: Parameters<ReturnType<LlamaContext["getSequence"]>["evaluate"]>[1]) => {
            const sequence = context.getSequence();
            const tokens: Token[] = [];
            try {
                for await (const token of sequence.evaluate(tokenizePrompt(model, PROMPT, INPUT), options)) {
                    tokens.push(token);
                    if (tokens.length >= MAX_TOKENS) break;
                }
            } finally {
                await sequence.dispose();
            }
            return model.detokenize(tokens, false);
        };
        const plain = await greedy({temperature: 0});
        const strongDryNoLastTokens = await greedy({
            temperature: 0,
            dryRepeatPenalty: {
                ...withoutLastTokens,
                strength: 3,
                sequenceBreakers: [...withoutLastTokens.sequenceBreakers],
            },
        });
        assert.equal(
            strongDryNoLastTokens,
            plain,
            "node-llama-cpp now applies DRY with lastTokens left out: the comment on DECODING.dry (decoding.ts) is out of date",
        );
    });
});
