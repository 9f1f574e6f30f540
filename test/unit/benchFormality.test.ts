// The formality study's chains and CoCoA-MT's matched accuracy (bench/formality.ts).

import assert from "node:assert/strict";
import {test} from "node:test";
import {FORMALITY_CHAINS, matchedAccuracy} from "../../bench/formality";
import {chainKey, parseTaskChain} from "../../engine/compose/taskChain";

test("matched accuracy counts only outputs that show a register", () => {
    const labels = {formal: 3, informal: 1, neutral: 6, other: 2};
    assert.equal(matchedAccuracy(labels, "formal"), 75);
    assert.equal(matchedAccuracy(labels, "informal"), 25);
    assert.equal(matchedAccuracy({formal: 0, informal: 0, neutral: 4, other: 1}, "formal"), null);
});

test("each register request is a valid chain: the tone rewrites the English, then it is translated", () => {
    const keys = FORMALITY_CHAINS.map(({wanted, chain}) => [wanted, chainKey(parseTaskChain(chain("fr")))]);
    assert.deepEqual(keys, [
        [null, "translate:fr"],
        ["formal", "tone:professional+translate:fr"],
        ["informal", "tone:casual+translate:fr"],
    ]);
});
