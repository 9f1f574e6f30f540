import assert from "node:assert/strict";
import {test} from "node:test";
import {chunksForSummary, joinSegments, splitForRewrite} from "../../engine/compose/segments";

const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length;

const EMAIL = "Hi all,\n\nThe meeting moves to Thursday. Please send the figures.\n\n\nThanks,\nAnna\n";

test("an email splits into its paragraphs and joins back with the same spacing", () => {
    const {leading, segments} = splitForRewrite(EMAIL, words, 100);
    assert.deepEqual(
        segments.map((s) => s.text),
        ["Hi all,", "The meeting moves to Thursday. Please send the figures.", "Thanks,\nAnna"],
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
        joinSegments(leading, segments, ["Bonjour à tous,", "La réunion passe à jeudi.", "Merci,\nAnna"]),
        "Bonjour à tous,\n\nLa réunion passe à jeudi.\n\n\nMerci,\nAnna\n",
    );
});

test("a long paragraph splits into runs of whole sentences within the limit, nothing lost", () => {
    const paragraph = "One two three. Four five six seven. Eight nine. Ten eleven twelve thirteen fourteen.";
    const {leading, segments} = splitForRewrite(`  ${paragraph}`, words, 6);
    assert.equal(leading, "  ");
    assert.deepEqual(
        segments.map((s) => s.text),
        ["One two three.", "Four five six seven. Eight nine.", "Ten eleven twelve thirteen fourteen."],
    );
    for (const segment of segments) assert.ok(words(segment.text) <= 6);
    assert.equal(
        joinSegments(
            leading,
            segments,
            segments.map((s) => s.text),
        ),
        `  ${paragraph}`,
    );
});

test("a sentence longer than the limit stays whole", () => {
    const {segments} = splitForRewrite("a b c d e f g h. i j.", words, 3);
    assert.deepEqual(
        segments.map((s) => s.text),
        ["a b c d e f g h.", "i j."],
    );
});

test("summary chunks cover the whole text in order, each within the limit", () => {
    const paragraphs = Array.from({length: 9}, (_, i) => `Paragraph ${i} has exactly six words.`);
    const chunks = chunksForSummary(paragraphs.join("\n\n"), words, 14);
    assert.equal(chunks.length, 5);
    for (const chunk of chunks) assert.ok(words(chunk) <= 14);
    assert.equal(chunks.join("\n\n"), paragraphs.join("\n\n"));
});
