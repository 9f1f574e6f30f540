import assert from "node:assert/strict";
import {test} from "node:test";
import {StopStringFilter} from "../../engine/runtime/stopStrings";

/** Feeds growing decoded text as generation would and collects what is emitted. */
function stream(pieces: string[], stops: string[]): {emitted: string; final: string; stopped: boolean} {
    const filter = new StopStringFilter(stops);
    let text = "";
    let emitted = "";
    for (const piece of pieces) {
        text += piece;
        const step = filter.push(text);
        emitted += step.emit;
        if (step.stopped) return {emitted, final: step.final, stopped: true};
    }
    emitted += filter.flush(text);
    return {emitted, final: text, stopped: false};
}

test("a stop string split over several tokens is never emitted", () => {
    const result = stream(["Bonjour", " Tom", "<end", "_of", "_turn>", "junk"], ["<end_of_turn>"]);
    assert.deepEqual(result, {emitted: "Bonjour Tom", final: "Bonjour Tom", stopped: true});
});

test("a held-back prefix that turns out not to be a stop string is emitted later", () => {
    const result = stream(["a <end", " b"], ["<end_of_turn>"]);
    assert.deepEqual(result, {emitted: "a <end b", final: "a <end b", stopped: false});
});

test("half of a multi-byte character is held until it is complete", () => {
    const filter = new StopStringFilter([]);
    assert.equal(filter.push("caf\uFFFD").emit, "caf");
    assert.equal(filter.push("café").emit, "é");
});
