import assert from "node:assert/strict";
import {test} from "node:test";
import {
    chunksForSummary,
    groupConsecutive,
    halvesForSummary,
    isFragmentAnswer,
    joinSegments,
    splitForRewrite,
} from "../../engine/compose/segments";
import {endAfterSentences, lastSentenceStart, splitSentences} from "../../engine/compose/sentences";

const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length;
const texts = (text: string) => splitForRewrite(text).segments.map((s) => s.text);

const EMAIL = "Hi all,\n\nThe meeting moves to Thursday. Please send the figures.\n\n\nThanks,\nAnna\n";

test("an email splits into its lines and sentences and joins back with the same spacing", () => {
    const {leading, segments} = splitForRewrite(EMAIL);
    assert.deepEqual(
        segments.map((s) => s.text),
        ["Hi all,", "The meeting moves to Thursday.", "Please send the figures.", "Thanks,", "Anna"],
    );
    assert.equal(
        joinSegments(
            leading,
            segments,
            segments.map((s) => s.text),
        ),
        EMAIL,
    );
    assert.equal(
        joinSegments(leading, segments, [
            "Bonjour à tous,",
            "La réunion passe à jeudi.",
            "Envoyez les chiffres.",
            "Merci,",
            "Anna",
        ]),
        "Bonjour à tous,\n\nLa réunion passe à jeudi. Envoyez les chiffres.\n\n\nMerci,\nAnna\n",
    );
});

test("leading whitespace is kept apart and every piece of the input comes back", () => {
    const paragraph = "One two three. Four five six seven! Eight nine? Ten eleven twelve thirteen fourteen.";
    const {leading, segments} = splitForRewrite(`  ${paragraph}`);
    assert.equal(leading, "  ");
    assert.equal(segments.length, 4);
    assert.equal(
        joinSegments(
            leading,
            segments,
            segments.map((s) => s.text),
        ),
        `  ${paragraph}`,
    );
});

test("abbreviations and initials do not end a sentence", () => {
    assert.deepEqual(texts("Mr. Smith met Dr. J. Jones in the U.S. last week. They talked, e.g. about rent."), [
        "Mr. Smith met Dr. J. Jones in the U.S. last week.",
        "They talked, e.g. about rent.",
    ]);
});

test("a hard-wrapped paragraph is read as its sentences, not as its lines", () => {
    const wrapped =
        "I have reviewed this document as part of the Operational\n" +
        "directorate's ongoing effort to review all IETF documents. These\n" +
        "comments were written primarily for the benefit of the authors.\n";
    assert.deepEqual(texts(wrapped), [
        "I have reviewed this document as part of the Operational directorate's ongoing effort to review all IETF documents.",
        "These comments were written primarily for the benefit of the authors.",
    ]);
});

test("lines that had room for the next word, or a block wider than any wrap, end where they end", () => {
    // Subheadings of a news article (NTREX): joined, they made one 60-word "sentence" that
    // translate:fr ran away on.
    const bullets =
        "Foreign buyers will be charged higher stamp duty when they buy a property in the UK with the extra cash used to help the homeless under new Tory plans\n" +
        "The move will neutralise the success of Corbyn's drive to attract young voters\n" +
        "The stamp duty rise will be levied on those who are not paying tax in the UK";
    assert.deepEqual(texts(bullets), bullets.split("\n"));
    // A real email: the vote's last option, then the sign-off, in a block wrapped at 80 columns.
    const vote =
        "the voting members would weigh in on the list with a response we can move forward.\n" +
        "NAY = next meeting will be held thursday 12/11 (as originally scheduled)\nthanks";
    assert.deepEqual(texts(vote).slice(-2), [
        "NAY = next meeting will be held thursday 12/11 (as originally scheduled)",
        "thanks",
    ]);
});

test("short lines, speaker turns and list items stand alone", () => {
    assert.deepEqual(texts("We need the following things for the release next week\n- the notes\n- the tarball"), [
        "We need the following things for the release next week",
        "- the notes",
        "- the tarball",
    ]);
});

test("in a dialogue or a block of fields, the labels are kept and only what follows is rewritten", () => {
    const dialogue = "#Person1#: Susan has got the cancer of stomach.\n#Person2#: How terrible! This is unexpected!";
    const {leading, segments} = splitForRewrite(dialogue);
    assert.deepEqual(
        segments.map((s) => [s.text, s.kind]),
        [
            ["#Person1#:", "verbatim"],
            ["Susan has got the cancer of stomach.", "sentence"],
            ["#Person2#:", "verbatim"],
            ["How terrible!", "sentence"],
            ["This is unexpected!", "sentence"],
        ],
    );
    assert.equal(
        joinSegments(
            leading,
            segments,
            segments.map((s) => s.text),
        ),
        dialogue,
    );
    assert.deepEqual(texts("Reviewer: Sarah Banks\nReview result: Ready\n"), [
        "Reviewer:",
        "Sarah Banks",
        "Review result:",
        "Ready",
    ]);
    // One "Note:" line is a sentence like any other, not a label.
    assert.deepEqual(texts("Note: the meeting moves to Thursday."), ["Note: the meeting moves to Thursday."]);
});

test("pieces without letters are kept; short lines that are not sentences are fragments", () => {
    const {segments} = splitForRewrite("Hi Maloy,\n\nThanks. Did you see it?\n--\nBest regards,\nCarl");
    assert.deepEqual(
        segments.map((s) => [s.text, s.kind]),
        [
            ["Hi Maloy,", "fragment"],
            ["Thanks.", "sentence"],
            ["Did you see it?", "sentence"],
            ["--", "verbatim"],
            ["Best regards,", "fragment"],
            ["Carl", "fragment"],
        ],
    );
});

test("a fragment's translation is kept only if it is a fragment too", () => {
    assert.equal(isFragmentAnswer("Best regards,", "Cordialement,"), true);
    assert.equal(isFragmentAnswer("Hi Maloy,", "Bonjour Maloy,"), true);
    assert.equal(isFragmentAnswer("Carl", "Carlaventure.\n\nCarlaventuremus."), false, "two lines");
    assert.equal(isFragmentAnswer("Hm", "Bonjour, merci de me présenter."), false, "a sentence of its own");
    assert.equal(isFragmentAnswer("Hm", ""), false);
});

test("a rewrite's sentence limit: the end of the n-th sentence once another has begun", () => {
    const text = "Il a demandé pourquoi. Elle a répondu. Puis elle";
    assert.equal(endAfterSentences(text, 2), "Il a demandé pourquoi. Elle a répondu.".length);
    assert.equal(endAfterSentences("Il a demandé pourquoi. Elle a répondu.", 2), null);
    assert.equal(endAfterSentences("« Oui. » Puis", 1), "« Oui. »".length);
    assert.equal(lastSentenceStart('He left. "Why?"'), "He left. ".length);
    assert.deepEqual(
        splitSentences("Yes.  No!\nMaybe").map((s) => [s.text, s.after]),
        [
            ["Yes.", "  "],
            ["No!", "\n"],
            ["Maybe", ""],
        ],
    );
});

test("summary chunks cover the whole text in order, each within the limit", () => {
    const paragraphs = Array.from({length: 9}, (_, i) => `Paragraph ${i} has exactly six words.`);
    const chunks = chunksForSummary(paragraphs.join("\n\n"), words, 14);
    assert.equal(chunks.length, 5);
    for (const chunk of chunks) assert.ok(words(chunk) <= 14);
    assert.equal(chunks.join("\n\n"), paragraphs.join("\n\n"));
});

test("a part cut in halves: at a line break that leaves each side a quarter, else the balanced sentence", () => {
    assert.equal(halvesForSummary("Only one sentence here.", words), null);
    // Sentences of 4 words; a sentence cut after the third would balance 12 / 12, but the line
    // break after the second (8 / 16) keeps the paragraph whole.
    const story = "One two three four. Five six seven eight.\n\nA b c d. E f g h. I j k l. M n o p.";
    assert.deepEqual(halvesForSummary(story, words), [
        "One two three four. Five six seven eight.",
        "A b c d. E f g h. I j k l. M n o p.",
    ]);
    // A break that leaves less than a quarter on one side is not taken.
    const lopsided = "One two three four.\nA b c d. E f g h. I j k l. M n o p. Q r s t.";
    assert.deepEqual(halvesForSummary(lopsided, words), [
        "One two three four.\nA b c d. E f g h.",
        "I j k l. M n o p. Q r s t.",
    ]);
    const [first, second] = halvesForSummary(lopsided, words) ?? ["", ""];
    assert.equal(words(first) + words(second), words(lopsided), "every word in one half");
});

test("a long text's parts go to at most the paragraph limit, consecutive and near-equal", () => {
    assert.deepEqual(groupConsecutive(4, 6), [[0], [1], [2], [3]], "few parts: a paragraph each");
    const groups = groupConsecutive(14, 6);
    assert.equal(groups.length, 6);
    assert.deepEqual(
        groups.flat(),
        Array.from({length: 14}, (_, i) => i),
        "every part once, in order",
    );
    const sizes = groups.map((group) => group.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
    assert.deepEqual(groupConsecutive(0, 6), []);
});
