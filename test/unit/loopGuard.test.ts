import assert from "node:assert/strict";
import {test} from "node:test";
import {lengthWithoutRepeats, repeatingTail, restatedSentenceStart} from "../../engine/runtime/loopGuard";

const words = (text: string) => text.split(" ");

test("a phrase repeated three times at the end is a loop of its length", () => {
    const tokens = words(
        "Allen can make contributions . Allen can make contributions . Allen can make contributions .",
    );
    assert.equal(repeatingTail(tokens), 5);
});

test("the loop must be at the end: repeats followed by new text are not one", () => {
    const tokens = words("a b c d a b c d a b c d and then something new happened");
    assert.equal(repeatingTail(tokens), null);
});

test("two copies are not yet a loop", () => {
    assert.equal(repeatingTail(words("I'm glad you like it . I'm glad you like it .")), null);
});

test("short repeats such as a list of dashes or 'ha ha ha' are not loops", () => {
    assert.equal(repeatingTail(words("ha ha ha")), null);
    assert.equal(repeatingTail(words("- - - - - - - - - - -")), null);
    assert.equal(repeatingTail(words("- - - - - - - - - - - -")), 1);
});

test("a list whose items share a prefix is not a loop", () => {
    const tokens = words("item one is red , item two is blue , item three is green , item four is gold");
    assert.equal(repeatingTail(tokens), null);
});

test("a loop is cut back to its first copy", () => {
    const tokens = words(
        "Thanks for the review . I'm glad you like it . I'm glad you like it . I'm glad you like it .",
    );
    const period = repeatingTail(tokens);
    assert.equal(period, 6);
    assert.equal(
        tokens.slice(0, lengthWithoutRepeats(tokens, period ?? 0)).join(" "),
        "Thanks for the review . I'm glad you like it .",
    );
    const dashes = words("x - - - - - - - - - - - -");
    assert.equal(dashes.slice(0, lengthWithoutRepeats(dashes, 1)).join(" "), "x -");
});

test("a finished sentence that restates an earlier one ends the text before it", () => {
    const text =
        "Wayne asks for public demonstration of merit. Allen should be prepared to accept pull requests. Allen should be prepared for pull requests.";
    const start = restatedSentenceStart(text);
    assert.equal(
        text.slice(0, start ?? undefined).trim(),
        "Wayne asks for public demonstration of merit. Allen should be prepared to accept pull requests.",
    );
});

test("new sentences that share a few words with earlier ones are kept", () => {
    assert.equal(
        restatedSentenceStart("The meeting moved to Thursday. The budget figures are due on Thursday too."),
        null,
    );
    assert.equal(restatedSentenceStart("Allen should be prepared to accept pull requests. Allen should"), null);
    assert.equal(restatedSentenceStart("Thanks for the review."), null);
});
