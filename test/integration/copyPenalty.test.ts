// A reply that is mostly its email's own words is written again with copying penalised
// (runtime/copyPenalty.ts, compose/composer.ts settleCopy), and that try is kept when it is not a
// copy too. A tone rewrite's sentence given back stays as it was: forced off the copy, such
// sentences read wrong more often than not (docs/method.md). An engine without the copy penalty
// is the control.

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {copiedShare, isCopiedReply, textWords} from "../../engine/compose/copying";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../engine/config";
import {Engine} from "../../engine/engine";
import {DECODING} from "../../engine/runtime/decoding";
import {realModelPath, repoRoot} from "../support/realModel";

/** A real list email whose reply, from the bundled reply adapter, is its last sentence again. */
const EMAIL = readFileSync(join(repoRoot(), "bench", "realtext", "emails.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as {id: string; text: string})
    .find((email) => email.id === "mail-020")?.text;
/** Sentences the bundled tone adapters give back as they are. */
const SENTENCES =
    "A snippet of code was provided yesterday. How many days would you like to use it? Have you executed any of the unit tests?";

describe("copying (bundled pack)", () => {
    let work: string;
    let engine: Engine;
    let control: Engine;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "composer-copy-"));
        const pack = packIn(work, {adapterDirs: [join(repoRoot(), "adapters")]});
        const model = await realModelPath();
        engine = await Engine.open(engineConfig(model, pack, {threads: 2, maxContexts: 1}));
        control = await Engine.open(
            engineConfig(model, pack, {threads: 2, maxContexts: 1, decoding: {...DECODING, copyPenalty: null}}),
        );
    });

    after(async () => {
        await engine.dispose();
        await control.dispose();
        await rm(work, {recursive: true, force: true});
    });

    test("a reply in the email's own words is written again, and the try that is not a copy kept", async () => {
        assert.ok(EMAIL, "mail-020 in bench/realtext/emails.jsonl");
        const chain = parseTaskChain("reply");
        const without = await control.compose({chain, method: "auto", input: EMAIL});
        assert.ok(isCopiedReply(without.text, EMAIL), `the control copies the email: ${without.text}`);
        assert.equal(without.passes.length, 1);

        const result = await engine.compose({chain, method: "auto", input: EMAIL});
        assert.deepEqual(
            result.passes.map((pass) => pass.setAside),
            [true, false],
            "the copy set aside, the try kept",
        );
        assert.equal(isCopiedReply(result.text, EMAIL), false, result.text);
    });

    for (const tone of ["paraphrase", "professional"])
        test(`a tone rewrite's sentences given back stay as they were, one generation each (${tone})`, async () => {
            const result = await engine.compose({
                chain: parseTaskChain(`tone:${tone}`),
                method: "auto",
                input: SENTENCES,
            });
            assert.ok(copiedShare(textWords(result.text), textWords(SENTENCES)) >= 0.9, result.text);
            assert.equal(result.passes.length, 3, "one generation per sentence, none written again");
            assert.ok(result.passes.every((pass) => !pass.setAside));
        });
});
