// The benchmark's paired bootstrap (bench/pairedDifference.ts): which side of zero the interval of
// per-input differences falls on decides "ahead" / "behind" / "within noise" in the report; and
// how a bench run pairs LC++ with each baseline input by input (bench/scoring.ts).

import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {pairedDifference} from "../../bench/pairedDifference";
import {compareWithBaseline, compareWithLcpp, compareWithRun} from "../../bench/scoring";
import type {Method} from "../../engine/compose/methods";

describe("paired bootstrap difference (bench)", () => {
    test("a method better on every input is ahead, its interval above zero", () => {
        const baseline = [10, 20, 15, 30, 25, 12, 18, 22];
        const method = baseline.map((b, i) => b + 2 + (i % 3));
        const d = pairedDifference(method, baseline);
        assert.equal(d.verdict, "ahead");
        assert.ok(d.low > 0 && d.low <= d.mean && d.mean <= d.high, `${d.low} ${d.mean} ${d.high}`);
        assert.equal(d.mean, 23 / 8); // gains 2,3,4,2,3,4,2,3
    });

    test("the same difference with the sides swapped is behind, mirrored", () => {
        const a = [5, 9, 14, 3, 8, 11];
        const b = [1, 2, 10, 2, 3, 4];
        const ahead = pairedDifference(a, b);
        const behind = pairedDifference(b, a);
        assert.equal(behind.verdict, "behind");
        assert.ok(Math.abs(behind.mean + ahead.mean) < 1e-12);
        assert.ok(Math.abs(behind.low + ahead.high) < 1e-9 && Math.abs(behind.high + ahead.low) < 1e-9);
    });

    test("pairing matters: a large per-input spread with a small consistent gain is still ahead", () => {
        // Unpaired, the means 50.5 vs 49.5 are lost in a spread of 0..99; paired, every input gains 1.
        const baseline = Array.from({length: 20}, (_, i) => i * 5);
        const method = baseline.map((b) => b + 1);
        assert.equal(pairedDifference(method, baseline).verdict, "ahead");
    });

    test("differences of both signs around zero are within noise", () => {
        const baseline = [10, 10, 10, 10, 10, 10, 10, 10];
        const method = [14, 6, 13, 8, 12, 7, 11, 9];
        const d = pairedDifference(method, baseline);
        assert.equal(d.verdict, "within noise");
        assert.ok(d.low < 0 && d.high > 0);
    });

    test("seeded: the same scores give the same interval; unpaired input is refused", () => {
        const a = [3, 1, 4, 1, 5, 9, 2, 6];
        const b = [2, 7, 1, 8, 2, 8, 1, 8];
        assert.deepEqual(pairedDifference(a, b), pairedDifference(a, b));
        assert.throws(() => pairedDifference([1, 2], [1]), /same inputs/);
        assert.throws(() => pairedDifference([1], [1]), /at least two/);
    });
});

describe("LC++ against the baselines in a bench run (bench/scoring.ts)", () => {
    // Scores by item key "<variant>|<method>|<id>"; the plan lists items in a scrambled order.
    const scores: Record<string, number | null> = {};
    const items: {variant: string; method: Method; id: string; input: string; key: string}[] = [];
    const add = (variant: string, method: Method, id: string, main: number | null) => {
        const key = `${variant}|${method}|${id}`;
        scores[key] = main;
        items.unshift({variant, method, id, input: id, key});
    };
    for (const [i, id] of ["a", "b", "c", "d"].entries()) {
        add("summarize+tone:witty", "lc++", id, 20 + i);
        add("summarize+tone:witty", "linear-merge", id, 10 + i); // LC++ always +10
        add("summarize+tone:witty", "multi-step", id, 30 + i); // LC++ always -10
    }
    add("summarize+tone:witty", "multi-step", "e", 99); // no LC++ score for "e": not paired
    add("reply+tone:casual", "linear-merge", "a", 5);
    add("reply+tone:casual", "lc++", "a", 6); // a single paired input: no interval
    const methods = {
        "summarize+tone:witty": [
            {method: "lc++" as Method, configHash: "x"},
            {method: "linear-merge" as Method, configHash: "y"},
            {method: "multi-step" as Method, configHash: "z"},
        ],
        "reply+tone:casual": [
            {method: "lc++" as Method, configHash: "x"},
            {method: "linear-merge" as Method, configHash: "y"},
        ],
    };

    test("pairs scores by input id and compares LC++ with the merge and multi-step", () => {
        const result = compareWithLcpp({items, methods}, (key) => scores[key] ?? null);
        const witty = result["summarize+tone:witty"];
        assert.equal(witty?.["linear-merge"]?.mean, 10);
        assert.equal(witty?.["linear-merge"]?.verdict, "ahead");
        assert.equal(witty?.["multi-step"]?.mean, -10);
        assert.equal(witty?.["multi-step"]?.verdict, "behind");
        assert.equal(witty?.["multi-step"]?.n, 4, "the input without an LC++ score is left out");
        assert.equal(result["reply+tone:casual"], undefined, "one paired input makes no interval");
    });

    test("an input whose LC++ output has no reference score is not paired", () => {
        const withGap: Record<string, number | null> = {...scores, "summarize+tone:witty|lc++|a": null};
        const result = compareWithLcpp({items, methods}, (key) => withGap[key] ?? null);
        assert.equal(result["summarize+tone:witty"]?.["linear-merge"]?.n, 3);
    });
});

test("a run is compared with a baseline run method by method, on the inputs both scored", () => {
    const current = {"summarize+translate:fr": {"lc++": {a: 30, b: 32, c: 28, d: 31}, "linear-merge": {a: 10, b: 12}}};
    const baseline = {"summarize+translate:fr": {"lc++": {a: 20, b: 22, c: 18, e: 99}}};
    const result = compareWithRun(current, baseline);
    assert.deepEqual(Object.keys(result["summarize+translate:fr"] ?? {}), ["lc++"]);
    const lcpp = result["summarize+translate:fr"]?.["lc++"];
    assert.equal(lcpp?.n, 3, "only a, b and c are in both runs");
    assert.equal(lcpp?.mean, 10);
    assert.equal(lcpp?.verdict, "ahead");
});

test("against a baseline, the placeholder-free scores are compared too, when both runs have them", () => {
    const perInput = {"summarize+translate:es": {"lc++": {a: 20, b: 21, c: 19}}};
    const before = {"summarize+translate:es": {"lc++": {a: 25, b: 26, c: 24}}};
    const current = {
        perInput,
        perInputWithoutPlaceholders: {"summarize+translate:es": {"lc++": {a: 30, b: 31, c: 29}}},
    };
    const both = compareWithBaseline("old.json", current, {perInput: before, perInputWithoutPlaceholders: before});
    assert.equal(both.byVariant["summarize+translate:es"]?.["lc++"]?.verdict, "behind");
    assert.equal(both.byVariantWithoutPlaceholders?.["summarize+translate:es"]?.["lc++"]?.mean, 5);
    assert.equal(both.byVariantWithoutPlaceholders?.["summarize+translate:es"]?.["lc++"]?.verdict, "ahead");
    const older = compareWithBaseline("old.json", current, {perInput: before});
    assert.equal(older.byVariantWithoutPlaceholders, null, "an older baseline has no such scores");
});
