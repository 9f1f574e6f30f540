// A tone rewrite that gives a sentence back as it was writes it again with copying penalised
// (runtime/copyPenalty.ts), and keeps that try only when it rewrites the sentence, keeps its length
// and changes none of its facts (compose/composer.ts, settleCopy). On this project's machines the
// bundled adapters give each of these sentences back; an engine without the copy penalty is the
// control.

import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {isGivenBack} from "../../engine/compose/copying";
import {changedFact} from "../../engine/compose/facts";
import {splitForRewrite} from "../../engine/compose/segments";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../engine/config";
import {Engine} from "../../engine/engine";
import {DECODING} from "../../engine/runtime/decoding";
import {realModelPath, repoRoot} from "../support/realModel";

const SENTENCES = [
    "A snippet of code was provided yesterday.",
    "How many days would you like to use it?",
    "Have you executed any of the unit tests?",
];
const INPUT = SENTENCES.join(" ");
const sentencesOf = (text: string) =>
    splitForRewrite(text).segments.flatMap((segment) => (segment.kind === "sentence" ? [segment.text] : []));

describe("a tone rewrite that gives its sentences back (bundled pack)", () => {
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

    for (const tone of ["paraphrase", "professional"])
        test(`writes them again with copying penalised, and keeps only tries that hold (${tone})`, async () => {
            const chain = parseTaskChain(`tone:${tone}`);
            const without = await control.compose({chain, method: "auto", input: INPUT});
            assert.ok(isGivenBack(without.text, INPUT), `the control gives the text back: ${without.text}`);
            assert.equal(without.passes.length, SENTENCES.length, "one generation per sentence, no retry");

            const result = await engine.compose({chain, method: "auto", input: INPUT});
            assert.equal(result.passes.length, 2 * SENTENCES.length, "each sentence given back is tried again");
            assert.equal(result.passes.filter((pass) => pass.setAside).length, SENTENCES.length, "one try kept each");
            const rewritten = sentencesOf(result.text);
            assert.equal(rewritten.length, SENTENCES.length, result.text);
            const changed = SENTENCES.filter((sentence, i) => !isGivenBack(rewritten[i] ?? "", sentence));
            assert.ok(changed.length > 0, `no sentence rewritten: ${result.text}`);
            for (const [i, sentence] of SENTENCES.entries())
                assert.equal(changedFact(sentence, rewritten[i] ?? ""), null, `${sentence} -> ${rewritten[i]}`);
        });
});
