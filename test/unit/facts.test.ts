import assert from "node:assert/strict";
import {test} from "node:test";
import {changedFact, lostFact, namesIn, QUOTATION} from "../../engine/compose/facts";

test("names are capitalized words inside a sentence, a line or a quote, never 'I'", () => {
    assert.deepEqual(
        [...namesIn('Hi Maloy,\nDid you run it in Eclipse? I think "Tests pass" on AD reviews, I\'m sure.')],
        ["maloy", "eclipse", "ad"],
    );
    assert.deepEqual([...namesIn("Kai: Is this seat taken?\nInes: No. Please sit down.")], []);
});

test("a rewrite that keeps the numbers, names and nots keeps the facts, whatever its wording", () => {
    const source = "Did you run the unit tests in Eclipse? The build from March 3 does not work for me.";
    assert.equal(
        lostFact(source, "Hey, did you run the unit tests in eclipse? The March 3 build doesn't work for me."),
        null,
    );
    assert.equal(lostFact(source, source.replace("in Eclipse", "in your editor")), 'the name "eclipse" is gone');
    assert.equal(lostFact(source, source.replace("March 3", "March")), "the number 3 is gone");
    assert.equal(lostFact(source, source.replace("does not work", "works")), "0 negations where the input has 1");
    assert.equal(
        lostFact("Guests who want to stay pay a deposit.", "Guests who don't want to stay pay a deposit."),
        "1 negations where the input has 0",
    );
    const darcy =
        "I just wanted to clarify that point -- I don't doubt Darcy's report at all, nor do I doubt Javier's report.";
    assert.equal(
        lostFact(
            darcy,
            "I just wanted to clarify the point that Darcy's report was not accurate, and I doubt Javier's.",
        ),
        "1 negations where the input has 2",
    );
    assert.equal(
        lostFact(darcy, "To be clear: I don't doubt Darcy's report at all, and I don't doubt Javier's either."),
        null,
    );
    assert.equal(lostFact("There is no problem with it.", "It's fine."), "0 negations where the input has 1");
});

test("a rewrite that drops a condition states as certain what was not", () => {
    const source = "However, if there is something we should discuss I will set up the meeting.";
    // Real-emails email-21, tone:professional on 2026-12-06.
    assert.equal(lostFact(source, "I will be setting up the meeting."), "0 conditions where the input has 1");
    assert.equal(lostFact(source, "But if we need to talk about anything, I'll set up the meeting."), null);
    assert.equal(
        lostFact(
            "Feelings weren't allowed in mine either unless they were anger.",
            "Feelings weren't allowed in mine either.",
        ),
        "0 conditions where the input has 1",
    );
    // An "if" that asks or is a courtesy is not a condition: the rewrite may turn it into a question.
    assert.equal(lostFact("Let me know if it works.", "Does it work?"), null);
    assert.equal(lostFact("I'd be grateful if you could confirm the date.", "Could you confirm the date?"), null);
    assert.equal(lostFact("Let me know when we get to the stop.", "Tell me if we get to the stop."), null);
});

test("a rewrite forced off its input must not add facts, recase names, drop links or flip a word", () => {
    const source = "Check the archive at <https://lists.wikimedia.org/pipermail/wikimedia-l/> before the IESG review.";
    const reworded =
        "Look at the archive at <https://lists.wikimedia.org/pipermail/wikimedia-l/> before the IESG review.";
    assert.equal(changedFact(source, reworded), null);
    assert.equal(changedFact(source, reworded.replace("IESG", "iESG")), 'the name "IESG" is not written as it was');
    assert.equal(
        changedFact(source, reworded.replace("wikimedia-l/", "attachments/index.html")),
        "the address https://lists.wikimedia.org/pipermail/wikimedia-l/ is gone",
    );
    assert.equal(changedFact(source, `${reworded} Ask Tim.`), 'the name "tim" is new');
    assert.equal(changedFact(source, reworded.replace("review", "review on May 2")), "the number 2 is new");
    assert.equal(
        changedFact("I won't disagree that they grandstand.", "I won't agree that they grandstand."),
        '"disagree" became "agree"',
    );
    assert.equal(changedFact("It is possible.", "It is impossible."), '"possible" became "impossible"');
    assert.equal(
        changedFact(
            "Jon cracked it after we cracked it for Jdevine.",
            "Jon cracked it after I cracked it for Jdevine.",
        ),
        "about i where the input is about we",
    );
    assert.equal(
        changedFact("It's 150 yuan per day.", "It's 150 a month."),
        "the units month where the input has day, yuan",
    );
    assert.equal(changedFact("It takes 5 minutes.", "It takes only 5 minutes, folks."), null);
    assert.equal(
        changedFact(source, source.replace("IESG", "board")),
        'the name "iesg" is gone',
        "lostFact's facts too",
    );
});

test("a quotation is double quotes, or single quotes that are not apostrophes", () => {
    assert.ok(QUOTATION.test('"Today the situation is stable," he said.'));
    assert.ok(QUOTATION.test("He is 'done with battlefields and horses'."));
    assert.equal(QUOTATION.test("Sam's view is that we don't meet, and it's 'cause of time."), false);
});
