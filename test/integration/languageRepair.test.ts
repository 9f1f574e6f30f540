// A one-pass composite that translates, run by "auto", whose answer comes back in English: the
// engine translates it in a second pass with the translation adapter (compose/recipe.ts
// languageRepair, compose/composer.ts). To get an English answer for sure, the pack here holds a
// "joint expert" for summarize -> French that is really the bundled summarize adapter under that
// name: it summarizes in English, as the real composites sometimes do (language.ts says when).

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {writtenIn} from "../../engine/compose/language";
import {parseTaskChain} from "../../engine/compose/taskChain";
import type {Engine} from "../../engine/engine";
import {relabelledEngine} from "../support/relabelledPack";
import {NEWS_PARAGRAPH} from "../support/texts";

const JOINT_ID = "gemma3-270m.joint.summarize.translate-fr";

describe("an English answer to a translating composite", () => {
    let engine: Engine;
    let close: (() => Promise<void>) | undefined;

    before(async () => {
        ({engine, close} = await relabelledEngine(["gemma3-270m.summarize", "gemma3-270m.translate-fr"], {
            source: "gemma3-270m.summarize",
            jointId: JOINT_ID,
            task: "summarize+translate:fr",
        }));
    });

    after(async () => {
        await close?.();
    });

    test("is translated by the translation adapter under auto, and left as it is under the explicit method", async () => {
        const chain = parseTaskChain("summarize,translate:fr");
        const asChosen = await engine.compose({chain, method: "joint-expert", input: NEWS_PARAGRAPH});
        assert.equal(writtenIn(asChosen.text), "en", asChosen.text);
        assert.deepEqual(
            asChosen.passes.map((p) => p.does),
            ["summarize+translate:fr"],
        );

        const streamed: string[] = [];
        const auto = await engine.compose(
            {chain, method: "auto", input: NEWS_PARAGRAPH},
            {onText: (t) => streamed.push(t)},
        );
        assert.equal(auto.method, "joint-expert");
        assert.equal(streamed.join("").trim(), asChosen.text, "the one-pass answer streams as before");
        const [first, ...repair] = auto.passes;
        assert.equal(first?.does, "summarize+translate:fr");
        assert.ok(repair.length >= 1 && repair.every((p) => p.does === "translate:fr"), JSON.stringify(auto.passes));
        assert.deepEqual(
            repair[0]?.adapters.map((a) => a.id),
            ["gemma3-270m.translate-fr"],
        );
        assert.equal(writtenIn(auto.text), "fr", auto.text);
        assert.ok(
            auto.notes.some((note) => /came back in English.*translate:fr/.test(note)),
            auto.notes.join("; "),
        );
        assert.equal(auto.cutAtBudget, false);
    });
});
