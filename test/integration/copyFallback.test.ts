// A one-pass summary composite, run by "auto", whose answer is the input's own sentences: the
// engine writes the summary again with the task adapters one after another (compose/recipe.ts
// stepsFallback, compose/copying.ts). To get a copy for sure, the pack here holds a "joint expert"
// for summarize -> professional tone that is really the bundled professional-tone adapter under
// that name: given a news paragraph, it gives back its first sentences, as the real composites
// sometimes do.

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {isCopiedSummary} from "../../engine/compose/copying";
import {parseTaskChain} from "../../engine/compose/taskChain";
import type {Engine} from "../../engine/engine";
import {relabelledEngine} from "../support/relabelledPack";
import {NEWS_PARAGRAPH} from "../support/texts";

const JOINT_ID = "gemma3-270m.joint.summarize.tone-professional";

describe("a summary composite that copies its input", () => {
    let engine: Engine;
    let close: (() => Promise<void>) | undefined;

    before(async () => {
        ({engine, close} = await relabelledEngine(["gemma3-270m.summarize", "gemma3-270m.tone-professional"], {
            source: "gemma3-270m.tone-professional",
            jointId: JOINT_ID,
            task: "summarize+tone:professional",
        }));
    });

    after(async () => {
        await close?.();
    });

    test("is written again in two passes under auto, and left as it is under the explicit method", async () => {
        const chain = parseTaskChain("summarize,tone:professional");
        const asChosen = await engine.compose({chain, method: "joint-expert", input: NEWS_PARAGRAPH});
        assert.ok(isCopiedSummary(asChosen.text, NEWS_PARAGRAPH), asChosen.text);
        assert.deepEqual(
            asChosen.passes.map((p) => p.does),
            ["summarize+tone:professional"],
        );

        const streamed: string[] = [];
        const auto = await engine.compose(
            {chain, method: "auto", input: NEWS_PARAGRAPH},
            {onText: (t) => streamed.push(t)},
        );
        assert.equal(auto.method, "joint-expert");
        assert.equal(streamed.join("").trim(), asChosen.text, "the one-pass answer streams as before");
        const [first, summary, ...tone] = auto.passes;
        assert.equal(first?.does, "summarize+tone:professional");
        assert.deepEqual(summary?.adapters, [{id: "gemma3-270m.summarize", scale: 1}]);
        assert.ok(tone.length >= 1 && tone.every((p) => p.does === "tone:professional"), JSON.stringify(auto.passes));
        assert.equal(isCopiedSummary(auto.text, NEWS_PARAGRAPH), false, auto.text);
        assert.ok(auto.text.length < asChosen.text.length, `${auto.text} / ${asChosen.text}`);
        assert.ok(
            auto.notes.some((note) => /own sentences.*2 passes \(summarize, then tone:professional\)/.test(note)),
            auto.notes.join("; "),
        );
        assert.equal(auto.cutAtBudget, false);
    });
});
