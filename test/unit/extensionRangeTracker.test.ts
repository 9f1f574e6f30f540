// The review's range tracking: edits before the selection shift it, edits touching it make
// Accept refuse, edits after it change nothing.

import assert from "node:assert/strict";
import {test} from "node:test";
import {RangeTracker, trackRange} from "../../extension/review/rangeTracker";

const range = {start: 10, end: 20};

test("an insertion before the range shifts it by its length", () => {
    assert.deepEqual(trackRange(range, [{rangeOffset: 0, rangeLength: 0, text: "abc"}]), {
        state: "intact",
        range: {start: 13, end: 23},
    });
});

test("a deletion before the range shifts it back, even one ending exactly at its start", () => {
    assert.deepEqual(trackRange(range, [{rangeOffset: 5, rangeLength: 5, text: ""}]), {
        state: "intact",
        range: {start: 5, end: 15},
    });
});

test("insertions right at the start or right after the end leave the range's text alone", () => {
    assert.deepEqual(trackRange(range, [{rangeOffset: 10, rangeLength: 0, text: "x"}]), {
        state: "intact",
        range: {start: 11, end: 21},
    });
    assert.deepEqual(trackRange(range, [{rangeOffset: 20, rangeLength: 0, text: "x"}]), {state: "intact", range});
    assert.deepEqual(trackRange(range, [{rangeOffset: 25, rangeLength: 3, text: "yy"}]), {state: "intact", range});
});

test("any edit inside or across the range changes it", () => {
    for (const change of [
        {rangeOffset: 12, rangeLength: 0, text: "x"},
        {rangeOffset: 12, rangeLength: 2, text: ""},
        {rangeOffset: 5, rangeLength: 6, text: ""},
        {rangeOffset: 19, rangeLength: 3, text: "z"},
        {rangeOffset: 0, rangeLength: 30, text: "everything"},
    ])
        assert.equal(trackRange(range, [change]).state, "changed", JSON.stringify(change));
});

test("several changes of one event are applied against the document before the event", () => {
    // VS Code reports multi-cursor edits with offsets in the old document.
    const result = trackRange(range, [
        {rangeOffset: 2, rangeLength: 0, text: "ab"},
        {rangeOffset: 30, rangeLength: 0, text: "cd"},
        {rangeOffset: 4, rangeLength: 1, text: ""},
    ]);
    assert.deepEqual(result, {state: "intact", range: {start: 11, end: 21}});
});

test("the tracker follows many events and stays changed once changed", () => {
    const tracker = new RangeTracker(range);
    tracker.apply([{rangeOffset: 0, rangeLength: 0, text: "12345"}]);
    assert.deepEqual(tracker.value, {state: "intact", range: {start: 15, end: 25}});
    const state = () => tracker.value.state;
    tracker.apply([{rangeOffset: 16, rangeLength: 1, text: "Q"}]);
    assert.equal(state(), "changed");
    tracker.apply([{rangeOffset: 0, rangeLength: 5, text: ""}]);
    assert.equal(state(), "changed");
});
