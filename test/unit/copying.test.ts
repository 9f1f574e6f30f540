// When a summary is its input's own sentences (engine/compose/copying.ts): what makes the composer
// write a one-pass summary again in separate passes.

import assert from "node:assert/strict";
import {test} from "node:test";
import {
    copiedShare,
    isCopiedReply,
    isCopiedSummary,
    textWords,
    withoutCopiedParagraphs,
} from "../../engine/compose/copying";
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

test("a reply mostly in the email's own words is a copy; one that picks up a word or two is not", () => {
    const email =
        "Hi folks, I've attached tonight's notes. If anyone feels that there needs to be more detail added, please write something suitable and send it in to me. I'll try to get a final copy of the notes out to everyone on Monday (or maybe Sunday night).";
    assert.ok(isCopiedReply("I'll try to get a final copy of the notes out to everyone on Monday.", email));
    // Half its words in the email's runs: in the writer's voice.
    assert.ok(isCopiedReply("Sure. Please write something suitable and send it in to me by Friday.", email));
    assert.equal(isCopiedReply("I'll do that. Thank you for your help.", email), false);
    assert.equal(isCopiedReply("Thanks for the notes; I will send a line on the budget item by Sunday.", email), false);
    assert.equal(isCopiedReply("Out to everyone on Monday.", email), false, "too short to tell");
});

test("a reply's paragraph after its first that repeats the email is left out; its first and short ones stay", () => {
    const email =
        "Hi everyone,\n\nA quick word on room bookings. Bear with me please.\n\nThe calendar is the record of who has booked the space and when.\n\nThanks\nMartin";
    const reply =
        "Hi Martin,\n\nThank you. I will check the calendar before I book.\n\nA quick word on the room bookings. Bear with me please.\n\nBest regards,";
    assert.equal(
        withoutCopiedParagraphs(reply, email),
        "Hi Martin,\n\nThank you. I will check the calendar before I book.\n\nBest regards,",
    );
    const answer = "The calendar is the record of who has booked the space and when.\n\nI will check it first.";
    assert.equal(withoutCopiedParagraphs(answer, email), answer, "the first paragraph is the retry's business");
    assert.equal(withoutCopiedParagraphs("Thanks, will do.", email), "Thanks, will do.");
});
