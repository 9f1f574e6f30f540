import assert from "node:assert/strict";
import {test} from "node:test";
import {lostFact, namesIn} from "../../engine/compose/facts";

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
});
