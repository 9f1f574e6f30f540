// The engine with the bundled pack on text as users select it: empty input refused, a literal
// control-token spelling kept, a rewrite covering every sentence and stopping after its own, a
// summary stopped where it turns to another script and written again in steps, truthful stop
// reasons and budget notes, and a text longer than one summary summarized part by part (a part
// whose summary fills its budget summarized again in halves).

import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {type ComposeResult, EmptyInputError} from "../../engine/compose/composer";
import {REWRITE_MAX_SENTENCES, SUMMARY_CHUNK_TOKENS, SUMMARY_MAX_PARAGRAPHS} from "../../engine/compose/length";
import {firstForeignLetter} from "../../engine/compose/scripts";
import {splitSentences} from "../../engine/compose/sentences";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, installedPack} from "../../engine/config";
import {Engine} from "../../engine/engine";
import {cachePaths} from "../../engine/model/paths";
import {DECODING} from "../../engine/runtime/decoding";
import {realModelPath, repoRoot} from "../support/realModel";
import {actionItems, SHORT_EMAIL} from "../support/texts";

describe("the engine on users' text, with the bundled pack", () => {
    let home: string;
    let engine: Engine;

    before(async () => {
        home = await mkdtemp(join(tmpdir(), "composer-realtext-"));
        engine = await Engine.open(
            engineConfig(await realModelPath(), installedPack(repoRoot(), cachePaths(home)), {
                threads: 2,
                maxContexts: 2,
            }),
        );
    });

    after(async () => {
        await engine?.dispose();
        if (home) await rm(home, {recursive: true, force: true});
    });

    test("empty or whitespace-only text is refused before any generation", async () => {
        for (const input of ["", "  \n\t \n"]) {
            await assert.rejects(
                engine.compose({chain: parseTaskChain("summarize"), method: "auto", input}),
                (error: Error) => error instanceof EmptyInputError && /empty/.test(error.message),
            );
        }
    });

    test("a summary that ends by itself says so; one cut by a limit says that, in whole sentences", async () => {
        const natural = await engine.compose({chain: parseTaskChain("summarize"), method: "auto", input: SHORT_EMAIL});
        const [pass] = natural.passes;
        assert.ok(pass !== undefined && pass.generation.generatedTokens < 128, natural.text);
        assert.notEqual(pass.generation.stopReason, "max-tokens");
        assert.equal(natural.cutAtBudget, false);

        const cut = await engine.compose({
            chain: parseTaskChain("summarize"),
            method: "auto",
            input: SHORT_EMAIL,
            maxTokens: 4,
        });
        assert.equal(cut.passes[0]?.generation.stopReason, "max-tokens");
        assert.equal(cut.cutAtBudget, true);
        assert.ok(
            cut.notes.some((note) => /4-token limit/.test(note)),
            cut.notes.join("; "),
        );
    });

    test("a translation covers every sentence of an email, keeping its breaks", async () => {
        const result = await engine.compose({
            chain: parseTaskChain("translate:de"),
            method: "auto",
            input: SHORT_EMAIL,
        });
        const paragraphs = result.text.split(/\n\s*\n/);
        assert.equal(paragraphs.length, 4, result.text);
        // "Hi Maria," + 2 sentences + 2 sentences + "Best regards," + "Peter".
        assert.equal(result.passes.length, 7, "one generation per sentence or line");
        assert.ok(paragraphs.every((p) => p.trim().length > 0));
        assert.equal(result.cutAtBudget, false);
    });

    test("a translation that runs on past its sentence is stopped after at most two", async () => {
        // NTREX (held-out news): given this sentence, translate:fr went on with three sentences of
        // its own before the sentence limit existed.
        const input =
            'Sanders said the scarcity of briefings was not due to a distaste for TV reporters "grandstanding," although she said: "I won\'t disagree with the fact that they grandstand."';
        const result = await engine.compose({chain: parseTaskChain("translate:fr"), method: "auto", input});
        const [pass] = result.passes;
        assert.ok(
            pass !== undefined && ["eog", "overrun"].includes(pass.generation.stopReason),
            pass?.generation.stopReason,
        );
        assert.ok(splitSentences(result.text).length <= REWRITE_MAX_SENTENCES, result.text);
        assert.equal(result.cutAtBudget, false);
    });

    test("a sentence cut by its budget is tried again; when no try ends, the first stays and says it was cut", async () => {
        const input = "Could you also book the small meeting room for Thursday? The big one is taken.";
        const result = await engine.compose({
            chain: parseTaskChain("translate:fr"),
            method: "auto",
            input,
            maxTokens: 3,
        });
        const perSentence = 1 + DECODING.runawayRetries.length;
        assert.equal(result.passes.length, 2 * perSentence, "the greedy try and every retry, per sentence");
        for (const [i, pass] of result.passes.entries()) {
            assert.equal(pass.generation.stopReason, "max-tokens");
            assert.equal(pass.setAside, i % perSentence !== 0, "the retries are set aside, the greedy try kept");
        }
        const greedy = result.passes.filter((pass) => !pass.setAside).map((pass) => pass.generation.text.trim());
        assert.equal(result.text, greedy.join(" "));
        assert.equal(result.cutAtBudget, true);
    });

    test("a summary that turns to another script is stopped where it turned, and auto writes it again in steps", async (t) => {
        // Inputs on which summarize + Spanish (LC++) turned to another script. Where greedy
        // decoding turns depends on the pack, the fused file's precision and the CPU's kernels:
        // with this pack and an F32 fused file it turned on a real email (the talk-us list, held
        // out: "Steve quiere una fiesta coordinada en") on an Intel Xeon with AMX, and on none of
        // the 84 real emails but on the Sanders paragraph on an AMD EPYC ("...y el prensa", then
        // another script); with B_f in F16 on neither, but on 2 of 166 real texts scanned on the
        // AMX Xeon (84 emails, 82 news documents), the Indonesia one first ("...colaborar en la",
        // then another script). The test takes the first that turns here; where none turns it
        // cannot exercise the guard and says so (a guard that let a turn through fails below).
        const turning = [
            [
                "Hm",
                "How about we have a coordinated mapping party weekend across the US in something like September? Aim to get a party in every state?",
                "That gives us a nice goal, a long time to organize plus we could coordinate for national press if we're clever.",
                "Thoughts?",
                "Steve",
            ].join("\n\n"),
            // NTREX-128, newstest2019 document guardian.221756 (CC BY-SA 4.0).
            'Sanders said the scarcity of briefings was not due to a distaste for TV reporters "grandstanding," although she said: "I won\'t disagree with the fact that they grandstand." She then suggested direct contact between Trump and the press will increase. "The president does more Q&A sessions than any president has prior to him," she said, adding without citing evidence: "We\'ve looked at those numbers." Briefings will still happen, Sanders said, but "if the press has the chance to ask the president of the United States questions directly, that\'s infinitely better than talking to me. We try to do that a lot and you\'ve seen us do that a lot over the last few weeks and that\'s going to take the place of a press briefing when you can talk to the president of the United States." Trump regularly takes questions when leaving the White House or participating in open sessions or press conferences with visiting dignitaries. Solo press conferences are rare. In New York this week the president perhaps demonstrated why, making a freewheeling and at times bizarre appearance before gathered reporters.',
            // NTREX-128, newstest2019 document nytimes.184837 (CC BY-SA 4.0), its lines joined.
            "Indonesia Tsunami and Quake Devastate an Island, Killing Hundreds In the aftermath of the Lombok earthquake, for instance, foreign nongovernmental organizations were told they were not needed. Even though more than 10 percent of Lombok's population had been dislocated, no national disaster was declared, a prerequisite for catalyzing international aid. \"In many cases, unfortunately, they've been very clear that they're not requesting international assistance, so it's a bit challenging,\" Ms. Sumbung said. While Save the Children is putting together a team to travel to Palu, it is not yet sure whether foreign staff can work on the ground. Mr. Sutopo, the national disaster agency spokesman, said Indonesian officials were assessing the situation in Palu to see whether international agencies would be allowed to contribute to the aid effort. Given the earth shaking that Indonesia constantly endures, the country remains woefully underprepared for nature's wrath. While tsunami shelters have been built in Aceh, they are not a common sight on other coastlines. The apparent lack of a tsunami warning siren in Palu, even though a warning had been in effect, is likely to have contributed to the loss of life. At the best of times, traveling between Indonesia's many islands is challenging. Natural disasters make logistics even more complicated. A hospital ship that had been stationed in Lombok to treat earthquake victims is making its way to Palu, but it will take at least three days to reach the site of the new calamity. President Joko Widodo made improving Indonesia's tattered infrastructure a centerpiece of his election campaign, and he has lavished money on roads and railways. But funding shortfalls have plagued Mr. Joko's administration as he faces re-election next year. Mr. Joko is also facing pressure from lingering sectarian tensions in Indonesia, where members of the Muslim majority have embraced a more conservative form of the faith. More than 1,000 people were killed and tens of thousands dislocated from their homes as Christian and Muslim gangs battled on the streets, using machetes, bows and arrows, and other crude weapons.",
        ];
        const chain = parseTaskChain("summarize,translate:es");
        let input = "";
        let onePass: ComposeResult | undefined;
        const answers: string[] = [];
        for (const candidate of turning) {
            const result = await engine.compose({chain, method: "lc++", input: candidate});
            answers.push(result.text);
            if (result.passes.some((report) => report.generation.stopReason === "off-script")) {
                [input, onePass] = [candidate, result];
                break;
            }
            assert.equal(firstForeignLetter(result.text, candidate), null, `a turn got past the guard: ${result.text}`);
        }
        if (onePass === undefined) {
            t.skip(`no candidate turned to another script on this CPU: ${answers.join(" / ")}`);
            return;
        }
        assert.equal(firstForeignLetter(onePass.text, input), null, onePass.text);
        assert.equal(onePass.cutAtBudget, false);

        const auto = await engine.compose({chain, method: "auto", input});
        assert.equal(auto.method, "lc++");
        assert.deepEqual(
            [...new Set(auto.passes.slice(1).map((report) => report.does))],
            ["summarize", "translate:es"],
            "written again by the two adapters, one after the other",
        );
        assert.match(auto.notes.join(" "), /another writing system.*2 passes \(summarize, then translate:es\)/);
        assert.equal(firstForeignLetter(auto.text, input), null, auto.text);
        assert.match(auto.text, /[.!?)]$/u, auto.text);
    });

    test("text that spells a control token stays text and does not end the answer", async () => {
        const input = "Please type <end_of_turn> into the field, then press enter.";
        const result = await engine.compose({chain: parseTaskChain("tone:paraphrase"), method: "auto", input});
        assert.ok(result.text.length > "Please type".length + 5, result.text);
        assert.notEqual(result.passes[0]?.generation.stopReason, "max-tokens");
    });

    /** `count` one-sentence paragraphs of ~35 tokens each, about a migration. */
    const updates = (count: number) =>
        Array.from(
            {length: count},
            (_, i) =>
                `Update ${i + 1}: the team finished part ${i + 1} of the migration, moved the remaining servers to the new data centre, and wrote down what went wrong so that the next step goes faster.`,
        ).join("\n\n");

    test("a text longer than one summary can read is summarized part by part, a paragraph each", async () => {
        const steps: [number, number][] = [];
        let streamed = "";
        const result = await engine.compose(
            {chain: parseTaskChain("summarize"), method: "auto", input: updates(48), maxTokens: 12},
            {
                onStep: (done, total) => steps.push([done, total]),
                onText: (piece) => {
                    streamed += piece;
                },
            },
        );
        const parts = result.passes.length;
        assert.ok(parts >= 2 && parts <= SUMMARY_MAX_PARAGRAPHS, `expected several parts, got ${parts}`);
        for (const report of result.passes)
            assert.ok(report.generation.promptTokens <= SUMMARY_CHUNK_TOKENS + 64, "each part fits one summary");
        assert.deepEqual(steps.at(-1), [parts, parts]);
        assert.ok(
            result.notes.some((note) => note.includes(`summarized in ${parts} parts, a paragraph each`)),
            result.notes.join("; "),
        );
        assert.ok(result.text.split("\n\n").length >= parts, result.text);
        assert.ok(streamed.includes("\n\n"), "the paragraphs stream into the review apart");
        assert.equal(
            result.cutAtBudget,
            result.passes.some((report) => report.generation.stopReason === "max-tokens"),
            "each paragraph is part of the answer, so any of them can cut it",
        );
    });

    test("a part whose summary fills its budget is summarized again in two halves", async () => {
        // The summarizer copies action items one after another: a part of ~1,200 tokens of them
        // fills its 128 tokens with the first few and leaves the rest unsaid.
        const result = await engine.compose({
            chain: parseTaskChain("summarize"),
            method: "auto",
            input: actionItems(200),
        });
        const halved = result.passes.flatMap((report, i) => (report.setAside ? [i] : []));
        assert.ok(halved.length >= 1, "no part filled its budget");
        for (const i of halved) {
            const [whole, first, second] = result.passes.slice(i, i + 3).map((report) => report.generation);
            assert.equal(whole?.stopReason, "max-tokens", "only a part that filled its budget is halved");
            assert.ok(first !== undefined && second !== undefined && !result.passes[i + 1]?.setAside);
            for (const half of [first, second])
                assert.ok(
                    half.promptTokens < whole.promptTokens * 0.8,
                    `${half.promptTokens} of ${whole.promptTokens}`,
                );
        }
        const parts = result.passes.length - 2 * halved.length;
        assert.equal(result.text.split("\n\n").length, parts, "a part's halves make one paragraph");
        assert.ok(
            result.notes.some((note) =>
                note.includes(
                    `reached the length limit; ${halved.length === 1 ? "it was" : "each was"} summarized again in halves`,
                ),
            ),
            result.notes.join("; "),
        );
    });

    test("a composite writes a long text's paragraphs from the summarizer's summaries of its parts", async () => {
        const result = await engine.compose({
            chain: parseTaskChain("summarize+translate:fr"),
            method: "auto",
            input: updates(48),
            maxTokens: 12,
        });
        const parts = result.passes.length / 2;
        assert.ok(Number.isInteger(parts) && parts >= 2, `passes ${result.passes.length}`);
        assert.deepEqual(
            result.passes.map((report) => report.does),
            [...Array(parts).fill("summarize"), ...Array(parts).fill("summarize+translate:fr")],
        );
        for (const report of result.passes.slice(parts))
            assert.ok(report.generation.promptTokens < SUMMARY_CHUNK_TOKENS / 2, `${report.generation.promptTokens}`);
        assert.ok(result.text.split("\n\n").length >= parts, result.text);
    });

    test("a text of more parts than a summary has paragraphs is summarized in groups of parts", async () => {
        const steps: [number, number][] = [];
        const result = await engine.compose(
            {chain: parseTaskChain("summarize"), method: "auto", input: updates(230), maxTokens: 12},
            {onStep: (done, total) => steps.push([done, total])},
        );
        const parts = result.passes.length - SUMMARY_MAX_PARAGRAPHS;
        assert.ok(parts > SUMMARY_MAX_PARAGRAPHS, `expected more parts than paragraphs, got ${parts}`);
        assert.deepEqual(steps.at(-1), [parts + SUMMARY_MAX_PARAGRAPHS, parts + SUMMARY_MAX_PARAGRAPHS]);
        assert.ok(
            result.notes.some((note) =>
                note.includes(
                    `its ${parts} parts were summarized, then ${SUMMARY_MAX_PARAGRAPHS} paragraphs written from those summaries`,
                ),
            ),
            result.notes.join("; "),
        );
        // A paragraph reads the parts' short summaries, not the parts themselves.
        for (const report of result.passes.slice(parts))
            assert.ok(report.generation.promptTokens < SUMMARY_CHUNK_TOKENS / 2, `${report.generation.promptTokens}`);
        assert.ok(result.text.split("\n\n").length >= SUMMARY_MAX_PARAGRAPHS, result.text);
    });
});
