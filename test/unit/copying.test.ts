// When a summary is its input's own sentences (engine/compose/copying.ts): what makes the composer
// write a one-pass summary again in separate passes.

import assert from "node:assert/strict";
import {test} from "node:test";
import {copiedShare, isCopiedSummary, textWords} from "../../engine/compose/copying";
import {NEWS_PARAGRAPH as NEWS} from "../support/texts";

test("a summary made of the input's first sentences, half its length, is a copy", () => {
    const lead = NEWS.split(". ").slice(0, 2).join(". ");
    assert.ok(lead.split(" ").length < NEWS.split(" ").length * 0.8);
    assert.ok(isCopiedSummary(lead, NEWS), lead);
    assert.ok(isCopiedSummary(NEWS, NEWS));
});

test("a lead sentence alone, or a summary in other words, is a summary", () => {
    assert.equal(
        isCopiedSummary("The city council voted on Tuesday to close the Old Mill bridge for repairs.", NEWS),
        false,
    );
    const ownWords =
        "The bridge closes for six months of repairs; drivers must detour and nearby shops worry about trade.";
    assert.equal(isCopiedSummary(ownWords, NEWS), false);
    // Half of it in other words: the tone or the summary did something.
    const halfRewritten =
        "The city council voted on Tuesday to close the Old Mill bridge for repairs. So, folks, it's the ring road for you for half a year, and the shops are not happy!";
    assert.equal(isCopiedSummary(halfRewritten, NEWS), false);
});

test("a short input is left alone: its summary may be its one sentence", () => {
    assert.equal(isCopiedSummary("Lunch moved to noon.", "Lunch moved to noon."), false);
});

test("the share counts the words in six-word runs of the input, whatever the case and punctuation", () => {
    const input = textWords("One two three four five six seven eight.");
    assert.deepEqual(textWords("Two, THREE four five six seven!"), ["two", "three", "four", "five", "six", "seven"]);
    assert.equal(copiedShare(textWords("Two, THREE four five six seven!"), input), 1);
    assert.equal(copiedShare(textWords("two three four five six nine"), input), 0, "five words in a row are not a run");
    assert.equal(copiedShare([], input), 0);
});
