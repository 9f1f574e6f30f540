// A tone rewrite keeps the facts of its input: a sentence whose rewrite lost a number, a name, a
// "not", an "if", a question or a quotation, or made one up, is given back as it was, and a note
// says how many were (compose/composer.ts, facts.ts).
// On this project's machines the bundled witty adapter drops a fact of the meeting sentence below;
// whatever an adapter does on another CPU, no answer may lose one.

import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {lostFact} from "../../engine/compose/facts";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../engine/config";
import {Engine} from "../../engine/engine";
import {realModelPath, repoRoot} from "../support/realModel";

const SENTENCES = [
    "The meeting moved from Tuesday 14 to Thursday 16 because the room at Hilton was not free.",
    "Wayne did not sign the contract with Acme, and Priya will call him on Monday.",
    "I never said the budget was 40,000 euros; Carla said it in the March 3 call.",
    "Are you running this through IRB or something like Eclipse?",
    // Real-emails email-21: the professional adapter wrote "I will be setting up the meeting."
    "However, if there is something we should discuss I will set up the meeting.",
];
const KEPT = /^(\d+) sentences? (?:was|were) kept as written: the rewrite changed a fact \(.+\)\.$/u;

describe("a tone rewrite on the bundled pack", () => {
    let work: string;
    let engine: Engine;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "composer-facts-"));
        const pack = packIn(work, {adapterDirs: [join(repoRoot(), "adapters")]});
        engine = await Engine.open(engineConfig(await realModelPath(), pack, {threads: 2, maxContexts: 2}));
    });

    after(async () => {
        await engine.dispose();
        await rm(work, {recursive: true, force: true});
    });

    for (const tone of ["witty", "casual", "professional"])
        test(`keeps every number, name, "not" and "if" (${tone})`, async () => {
            const input = SENTENCES.join(" ");
            const result = await engine.compose({chain: parseTaskChain(`tone:${tone}`), method: "auto", input});
            assert.equal(lostFact(input, result.text), null, result.text);
            const kept = result.notes.map((note) => KEPT.exec(note)).find((match) => match !== null);
            assert.equal(result.keptAsWritten, kept === undefined ? 0 : Number(kept[1]), "the count the note gives");
            if (kept !== undefined) {
                const given = SENTENCES.filter((sentence) => result.text.includes(sentence)).length;
                assert.ok(given >= Number(kept[1]), `${kept[0]} / ${result.text}`);
            }
        });
});
