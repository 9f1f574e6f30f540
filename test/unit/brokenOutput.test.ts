// The real-text benchmark's broken-output classifier (bench/brokenOutput.ts) on outputs like the
// ones users met on real text (loops, a German "translation" that kept only the sign-off, DialogSum tags
// in an email summary) and on sound outputs that look similar (lists, emphasis, repetitions the
// input already had), which must not be flagged.

import assert from "node:assert/strict";
import {test} from "node:test";
import {
    type BrokenReason,
    brokenReasons,
    type GenerationFacts,
    languageSample,
    wordLoop,
} from "../../bench/brokenOutput";
import {parseTaskChain} from "../../engine/compose/taskChain";

const EMAIL = `Hi all,

Thanks for the review of the draft charter. I have folded in the comments from Sarah and Tom: the scope section now names the two deliverables, and the timeline moves the first public draft to October 24 so that the working group can meet a week earlier to settle the open issues.

Could everyone check the new text by Friday and say on the list whether they can live with it?

Cheers,
Wayne`;

/** Passes that stopped for these reasons after 40 tokens each, under a 128-token budget. */
const stops = (...reasons: string[]) => reasons.map((stopReason) => ({stopReason, generatedTokens: 40}));
const ENDED: GenerationFacts = {
    error: null,
    passes: stops("eog"),
    budget: 128,
    cutAtBudget: null,
    detectedLanguage: "en",
};
const inFrench: GenerationFacts = {...ENDED, detectedLanguage: "fr"};
const inGerman: GenerationFacts = {...ENDED, detectedLanguage: "de"};
const inSpanish: GenerationFacts = {...ENDED, detectedLanguage: "es"};

function reasons(chain: string, input: string, output: string, facts: GenerationFacts = ENDED): BrokenReason[] {
    return brokenReasons(parseTaskChain(chain), input, output, facts).map((f) => f.reason);
}

test("a reply that repeats one sentence is a loop, and the budget cut is reported beside it", () => {
    const output = `Thanks for the review. ${"I'm glad you like it. ".repeat(14)}I'm glad`;
    const found = brokenReasons(parseTaskChain("reply"), EMAIL, output, {
        ...ENDED,
        budget: null,
        passes: stops("max-tokens"),
    });
    assert.deepEqual(
        found.map((f) => f.reason),
        ["cut", "loop"],
    );
    assert.match(found[0]?.detail ?? "", /pass 1: max-tokens, mid-sentence/);
    assert.match(found[1]?.detail ?? "", /i'm glad you like it" x 1[45]/);
});

test("a two-word unit repeated is a loop", () => {
    const output =
        "Sarah Banks a écrit le document de l'organisation de la IESG concernant les documents de documents de documents de documents de documents de documents";
    assert.deepEqual(reasons("summarize+translate:fr", EMAIL, output, inFrench), ["loop"]);
    assert.deepEqual(wordLoop(output, EMAIL)?.unit, ["documents", "de"]);
});

test("a summary that ends in the same sentence again and again is a loop even when it stops by itself", () => {
    const output = `Alex thinks the date should be moved to October 24. ${"They will have a meeting a week earlier. ".repeat(3)}`;
    assert.deepEqual(reasons("summarize", EMAIL, output), ["loop"]);
});

test("the same long sentence three times apart from each other is a loop", () => {
    const output =
        "The group will meet a week earlier to settle the issues. Sarah agrees. The group will meet a week earlier to settle the issues. Tom agrees. The group will meet a week earlier to settle the issues.";
    assert.deepEqual(reasons("summarize", EMAIL, output), ["loop"]);
});

test("a run of punctuation or a syllable to the end is a loop (the lab's tail check)", () => {
    assert.deepEqual(reasons("reply+tone:witty", EMAIL, `Oh wow ${"¡".repeat(30)}`), ["loop"]);
    assert.deepEqual(reasons("reply+tone:witty", EMAIL, `That's hilarious, ${"haha".repeat(10)}`), ["loop"]);
});

test("a run of marks without words is a loop, unless the input has one", () => {
    // reply+translate:es LC on a real email (2026-12-05): no unit repeats exactly, and nothing ends it.
    const noise = "¡¡¡ ¡¡ ¡¡ ¡ ¡ ¡ ¡ ¡ ¡¡ ¡ ¡¡ ¡ ¡ ¡¡ ¡¡ ¡¡ ¿ Sí, ¿ ¿ ¿ ¿ ¿? ? ? ? ? Vaya, ¿ ¿ ¿ ¿? ? Vaya, ¡¡ ¡ ¿ Sí.";
    assert.deepEqual(reasons("reply+translate:es", EMAIL, noise, inSpanish), ["loop"]);
    assert.deepEqual(
        reasons("reply+translate:es", EMAIL, "¡Hola! ¿Qué tal? Sí, claro: nos vemos el jueves.", inSpanish),
        [],
    );
    const table = "Results:\n| - | - | - | - | - | - | - | - |\nall good";
    assert.deepEqual(reasons("tone:paraphrase", table, table.replace("all good", "all fine")), []);
});

test("lists, emphasis and repetitions the input already has are not loops", () => {
    const agenda = `Agenda for Thursday:
- Review the charter draft and the scope section.
- Review the timeline and the first public draft date.
- Review the open issues from the last call.
- Review the budget for the October meeting.
Please send any other items by Wednesday.`;
    assert.deepEqual(reasons("tone:professional", agenda, agenda), ["unchanged"], "given back, but no loop");
    const steps =
        "To build it: run make, then run make test, then run make install. If make test fails, run make clean and run make test again.";
    assert.equal(wordLoop(steps, ""), null);
    assert.deepEqual(reasons("reply", EMAIL, "No, no, no, this is great news. Thank you, thank you, thank you!"), []);
    // A table of repeated values (n/a is one word) and a chant the input contains.
    assert.equal(wordLoop("Status: n/a n/a n/a n/a, owner: n/a.", ""), null);
    const chant = "The crowd sang la la la la la la la la la la until midnight.";
    assert.deepEqual(
        reasons("tone:paraphrase", chant, "Until midnight the crowd sang la la la la la la la la la la."),
        [],
    );
});

test("a German translation that keeps only the sign-off has dropped content", () => {
    const found = brokenReasons(
        parseTaskChain("translate:de"),
        EMAIL,
        "Mit freundlicher Genehmigung des Eclipse Technology PMC, Wayne",
        inGerman,
    );
    assert.deepEqual(
        found.map((f) => f.reason),
        ["content-dropped"],
    );
    assert.match(found[0]?.detail ?? "", /^0\.1\d of the input's length < 0\.6$/);
});

test("content is judged only for rewrites, per kind: a short casual rewrite or a summary is fine", () => {
    const input =
        "I would be grateful if you could confirm whether the meeting on Thursday is still going ahead as planned.";
    assert.deepEqual(reasons("tone:casual", input, "Hey, is the Thursday meeting still happening as planned?"), []);
    assert.deepEqual(reasons("tone:casual", input, "Thursday?"), ["content-dropped"]);
    assert.deepEqual(reasons("summarize", EMAIL, "Wayne asks for comments by Friday."), []);
    assert.deepEqual(reasons("translate:fr", "Thanks a lot!", "Merci !", inFrench), [], "short inputs are not judged");
});

test("wrong language: an English answer to a French request; short outputs are not judged", () => {
    const english = "Wayne asks everyone to check the new charter by Friday.";
    assert.deepEqual(reasons("summarize+translate:fr", EMAIL, english, {...ENDED, detectedLanguage: "en"}), [
        "wrong-language",
    ]);
    assert.deepEqual(reasons("summarize+translate:fr", EMAIL, "Merci Wayne", {...ENDED, detectedLanguage: "en"}), []);
    assert.deepEqual(
        reasons("tone:casual", "Wayne wants comments by Friday.", "Wayne quiere comentarios antes del viernes.", {
            ...ENDED,
            detectedLanguage: "es",
        }),
        ["wrong-language"],
    );
    const unidentified = brokenReasons(parseTaskChain("summarize"), EMAIL, "12:00 13:00 14:00", {
        ...ENDED,
        detectedLanguage: "",
    });
    assert.deepEqual(
        unidentified.map((f) => f.detail),
        ["unidentified, not en"],
    );
    // Not identified at all (null): nothing said about the language.
    assert.deepEqual(reasons("summarize+translate:fr", EMAIL, english, {...ENDED, detectedLanguage: null}), []);
});

test("language is identified on each sentence once, not on the loop", () => {
    // langid called this Italian; the sample is what the output says.
    assert.equal(
        languageSample(`Oh, I'm so sorry! ${"I'm so sorry! ".repeat(20)}I'm`),
        "Oh, I'm so sorry! I'm so sorry! I'm",
    );
    assert.equal(
        languageSample("Steve está planificando.\nEstá planificando.\nEstá planificando. Gracias."),
        "Steve está planificando. Está planificando. Gracias.",
    );
});

test("a stop at a limit in any pass is a cut, said with the pass; ends by the model are not", () => {
    const summary = "Wayne asks everyone to check the new charter by Friday.";
    const found = brokenReasons(parseTaskChain("summarize+tone:casual+translate:fr"), EMAIL, summary, {
        ...inFrench,
        detectedLanguage: "fr",
        passes: [...stops("eog"), {stopReason: "max-tokens", generatedTokens: 128}, ...stops("stop-string")],
    });
    assert.deepEqual(
        found.map((f) => [f.reason, f.detail]),
        [["cut", "pass 2: max-tokens"]],
    );
    assert.deepEqual(reasons("summarize", EMAIL, summary, {...ENDED, passes: stops("eog", "stop-string")}), []);
});

test("a 'max-tokens' pass shorter than the known budget ended by itself (the engine misreported it)", () => {
    const summary = "Wayne asks everyone to check the new charter by Friday.";
    const early = {...ENDED, passes: [{stopReason: "max-tokens", generatedTokens: 14}]};
    assert.deepEqual(reasons("summarize", EMAIL, summary, early), []);
    const atBudget = {...ENDED, passes: [{stopReason: "max-tokens", generatedTokens: 128}]};
    assert.deepEqual(reasons("summarize", EMAIL, summary, atBudget), ["cut"]);
    // With the budget unknown (the engine decides it), the stop reason is taken as said.
    assert.deepEqual(reasons("summarize", EMAIL, summary, {...early, budget: null}), ["cut"]);
    // Any other limit (a later engine's own reasons) is a cut whatever the count.
    assert.deepEqual(reasons("summarize", EMAIL, summary, {...ENDED, passes: stops("budget")}), ["cut"]);
});

test("the engine's cutAtBudget decides where it is given; the loop guard's stop is not a limit", () => {
    const summary = "Wayne asks everyone to check the new charter by Friday.";
    const engine = {...ENDED, budget: null};
    // A chunk summary that filled its budget, the answer complete: not cut.
    const chunked = {...engine, passes: [{stopReason: "max-tokens", generatedTokens: 128}, ...stops("eog")]};
    assert.deepEqual(reasons("summarize", EMAIL, summary, {...chunked, cutAtBudget: false}), []);
    const found = brokenReasons(parseTaskChain("translate:de"), "Hello there.", "Hallo.", {
        ...engine,
        detectedLanguage: "de",
        cutAtBudget: true,
    });
    assert.deepEqual(
        found.map((f) => [f.reason, f.detail]),
        [["cut", "the engine says the answer reached its budget"]],
    );
    assert.deepEqual(reasons("reply", EMAIL, "Sure, I will check it.", {...engine, passes: stops("repetition")}), []);
});

test("DialogSum placeholders and speaker labels the input did not have", () => {
    assert.deepEqual(reasons("summarize", EMAIL, "#Person1# asks #Person2# to check the charter by Friday."), [
        "placeholder",
    ]);
    assert.deepEqual(reasons("reply", EMAIL, "Person 1: Sure, I will check it.\nPerson 2: Thanks!"), ["placeholder"]);
    // An empty input once got "#1# is a young man who ..."
    assert.deepEqual(reasons("summarize", "Hello", "#1# is a young man who is in love with a girl."), ["placeholder"]);
    const dialogue = "#Person1#: Can you check the charter by Friday?\n#Person2#: Sure, I will.";
    assert.deepEqual(reasons("summarize", dialogue, "#Person1# asks #Person2# to check the charter by Friday."), []);
    // A made-up name in hashtag form (a French summary of an email once ended "#Steveirs et #Steveirs").
    assert.deepEqual(reasons("summarize", EMAIL, "#Steveirs aide Steve avec la charte."), ["placeholder"]);
    const post = "Great talk by @ana on #WebGPU today, slides are up.";
    assert.deepEqual(reasons("summarize", post, "Ana gave a talk on #webgpu."), []);
    assert.deepEqual(reasons("reply", EMAIL, "Sure, I will fix the C# build and bug #42 by Friday."), []);
    // A line that only looks like a label ("Note:") is not a speaker tag.
    assert.deepEqual(reasons("reply", EMAIL, "Note: I will check it by Friday."), []);
});

test("an echoed instruction or turn marker, unless the input has it too", () => {
    assert.deepEqual(reasons("summarize", EMAIL, "Summarize the following text: Wayne asks for comments."), ["echo"]);
    assert.deepEqual(reasons("reply", EMAIL, "Suggest a reply for"), ["echo"], "cut short, still an echo");
    assert.deepEqual(reasons("reply", EMAIL, "Sure!<end_of_turn>\n<start_of_turn>user\nThanks"), ["echo"]);
    const asking = "Could you translate the following text for me? It is short.";
    assert.deepEqual(
        reasons("tone:paraphrase", asking, "Could you translate the following text for me? It's brief."),
        [],
    );
});

test("a summary or reply that is the input's own text is copied; a lead sentence or a quote inside an answer is not", () => {
    // The first two sentences of the email, word for word, keep over 0.4 of its words: not a summary.
    const firstSentences =
        "Thanks for the review of the draft charter. I have folded in the comments from Sarah and Tom: the scope section now names the two deliverables, and the timeline moves the first public draft to October 24.";
    assert.deepEqual(reasons("summarize", EMAIL, firstSentences), ["copied"]);
    assert.deepEqual(reasons("summarize+tone:casual", EMAIL, firstSentences), ["copied"]);
    // A summary in the input's words that condenses it (the news lead) is a summary.
    assert.deepEqual(reasons("summarize", EMAIL, "Wayne has folded in the comments from Sarah and Tom."), []);
    // A reply that is a line of the email given back, and one that answers it.
    assert.deepEqual(reasons("reply", EMAIL, "Could everyone check the new text by Friday"), ["copied"]);
    assert.deepEqual(
        reasons(
            "reply",
            EMAIL,
            "Hi Wayne, I read the new text: the timeline moves the first public draft to October 24, which works for me.",
        ),
        [],
    );
    // A rewrite keeps its input's words by design: not a copy (but see "unchanged").
    assert.deepEqual(reasons("tone:paraphrase", EMAIL, EMAIL), ["unchanged"]);
});

test("a tone rewrite that gives its input back is unchanged; one that rewords it, or a translation, is not", () => {
    const input =
        "I would like to inform you that the meeting has been postponed until next week due to unforeseen circumstances.";
    // Its last word changed: 18 of its 19 words lie in 6-word runs of the input.
    assert.deepEqual(
        reasons(
            "tone:casual",
            input,
            "I would like to inform you that the meeting has been postponed until next week due to unforeseen issues.",
        ),
        ["unchanged"],
    );
    assert.deepEqual(reasons("tone:witty", input, input), ["unchanged"]);
    assert.deepEqual(
        reasons("tone:casual", input, "Heads up: the meeting got pushed to next week because something came up."),
        [],
    );
    // A short input leaves little to change; a translated rewrite is judged by its language.
    assert.deepEqual(reasons("tone:casual", "Thanks, see you then.", "Thanks, see you then."), []);
    assert.deepEqual(reasons("tone:casual+translate:fr", input, input), ["wrong-language"]);
});

test("a tone rewrite that drops a name or a number, or a 'not', changed the facts; new wording does not", () => {
    const input =
        "Hi Maloy,\n\nDid you run the unit tests in Eclipse? The build from March 3 does not work for me.\n\nThanks,\nCarl";
    const casual =
        "Hey Maloy,\n\nDid you run the unit tests in Eclipse? The March 3 build doesn't work for me.\n\nCheers,\nCarl";
    assert.deepEqual(reasons("tone:casual", input, casual), []);
    assert.deepEqual(reasons("tone:casual", input, casual.replace(" in Eclipse", " in your editor")), [
        "facts-changed",
    ]);
    assert.deepEqual(reasons("tone:casual", input, casual.replace("March 3", "March")), ["facts-changed"]);
    assert.deepEqual(reasons("tone:professional", input, casual.replace("doesn't work", "works")), ["facts-changed"]);
    // "I", a sentence's first word and a line's first word are not names; summaries are judged otherwise.
    const lines = "Kai: Is this seat taken?\nInes: No. Please sit down, I insist.";
    assert.deepEqual(reasons("tone:casual", lines, "Kai: Anyone sitting here?\nInes: Nope. Have a seat, really."), []);
    assert.deepEqual(reasons("summarize", input, "Carl asks Maloy about the tests."), []);
});

test("errors and empty outputs are reported as such", () => {
    const error = brokenReasons(parseTaskChain("translate:fr"), EMAIL, "", {
        error: "The input is longer than the context (2048 tokens).",
        passes: [],
        budget: 128,
        cutAtBudget: null,
        detectedLanguage: null,
    });
    assert.deepEqual(
        error.map((f) => f.reason),
        ["error"],
    );
    assert.deepEqual(reasons("reply", EMAIL, "", {...ENDED, detectedLanguage: null}), ["empty"]);
    assert.deepEqual(reasons("reply", EMAIL, " \n\n …", {...ENDED, budget: null, passes: stops("max-tokens")}), [
        "empty",
        "cut",
    ]);
});

test("a sound output of every kind has no reasons", () => {
    assert.deepEqual(
        reasons(
            "summarize+translate:fr",
            EMAIL,
            "Wayne demande à chacun de relire la nouvelle charte avant vendredi.",
            inFrench,
        ),
        [],
    );
    assert.deepEqual(
        reasons(
            "translate:de",
            "Could everyone check the new text by Friday and say on the list whether they can live with it?",
            "Könnten alle den neuen Text bis Freitag prüfen und auf der Liste sagen, ob sie damit leben können?",
            inGerman,
        ),
        [],
    );
});

test("wrong language: a word in a script neither the input nor the target language uses", () => {
    const input = "Trump said he would not fire Rosenstein.";
    const output = "Trump a dit qu’il ne renverrait pas Rosenstein. Казінобогійна сторона";
    const found = brokenReasons(parseTaskChain("translate:fr"), input, output, inFrench);
    assert.deepEqual(found, [{reason: "wrong-language", detail: 'Cyrillic letters ("Казінобогійна")'}]);
    // The input's own script is fine: a Russian name quoted in an English email.
    const quoted = "Please thank Ирина for the slides; she sent them on Monday.";
    assert.deepEqual(
        reasons("translate:fr", quoted, "Merci à Ирина pour les diapositives, envoyées lundi.", inFrench),
        [],
    );
    // The script guard's stop is an end, not a cut.
    assert.deepEqual(
        reasons("translate:fr", input, "Trump a dit qu’il ne renverrait pas Rosenstein.", {
            ...inFrench,
            passes: stops("off-script"),
        }),
        [],
    );
});
