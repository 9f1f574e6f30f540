import assert from "node:assert/strict";
import {test} from "node:test";
import type {Token} from "node-llama-cpp";
import {copyPenalties} from "../../engine/runtime/copyPenalty";

const tokens = (...ids: number[]) => ids as Token[];
const options = {strength: 1, base: 2, allowedLength: 2};

test("a copy shorter than the allowed length is free", () => {
    const source = tokens(10, 11, 12, 13, 14);
    assert.equal(copyPenalties(source, tokens(), options).size, 0);
    assert.equal(copyPenalties(source, tokens(10), options).size, 0);
});

test("the token that extends a copy costs more the longer the copy", () => {
    const source = tokens(10, 11, 12, 13, 14);
    assert.deepEqual([...copyPenalties(source, tokens(10, 11), options)], [[12, 1]]);
    assert.deepEqual([...copyPenalties(source, tokens(10, 11, 12), options)], [[13, 2]]);
    assert.deepEqual([...copyPenalties(source, tokens(10, 11, 12, 13), options)], [[14, 4]]);
});

test("a copy that left the source is free again until it rejoins it for the allowed length", () => {
    const source = tokens(10, 11, 12, 13, 14);
    assert.equal(copyPenalties(source, tokens(10, 11, 99), options).size, 0);
    assert.equal(copyPenalties(source, tokens(10, 11, 99, 12), options).size, 0);
    assert.deepEqual([...copyPenalties(source, tokens(10, 11, 99, 12, 13), options)], [[14, 1]]);
});

test("a token that extends two runs gets the longer run's penalty", () => {
    // "a b c x ... b c y": after "a b c", x extends a run of 3 and, via "b c", y a run of 2.
    const source = tokens(1, 2, 3, 4, 9, 2, 3, 5);
    const penalties = copyPenalties(source, tokens(1, 2, 3), options);
    assert.equal(penalties.get(4 as Token), 2);
    assert.equal(penalties.get(5 as Token), 1);
});

test("the output's own text that is not in the source costs nothing", () => {
    assert.equal(copyPenalties(tokens(1, 2, 3), tokens(7, 8, 9), options).size, 0);
});

test("a free token (punctuation) costs nothing but counts in the run", () => {
    const source = tokens(10, 11, 12, 46, 13);
    const free = new Set(tokens(46));
    assert.equal(
        copyPenalties(source, tokens(10, 11, 12), options, free).size,
        0,
        "the full stop after a copy is free",
    );
    assert.deepEqual([...copyPenalties(source, tokens(10, 11, 12, 46), options, free)], [[13, 4]]);
});
