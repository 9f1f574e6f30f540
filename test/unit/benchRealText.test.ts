// The real-text section's plan (bench/realTextCommands.ts: every command, which genres each
// applies to, the quick mode's size) and its bookkeeping (bench/realText.ts: judging cached
// generations and tallying broken outputs per command and genre).

import assert from "node:assert/strict";
import {test} from "node:test";
import {parseArgs} from "../../bench/args";
import type {CachedGeneration} from "../../bench/cache";
import {cells, judge, type RealTextRequest, type RealTextSet, tally, totals} from "../../bench/realText";
import {appliesTo, COMMANDS, GENRES, realTextShape, THREE_TASK_CHAINS} from "../../bench/realTextCommands";
import {tallyText} from "../../bench/realTextReport";
import type {ChainKey} from "../../engine/compose/taskChain";
import {parseTaskChain} from "../../engine/compose/taskChain";

test("every command a user has: 9 single tasks, the 14 composites, chains of three", () => {
    const sizes = COMMANDS.map((c) => parseTaskChain(c)).map((c) => (c.main === null ? 0 : 1) + c.aux.length);
    assert.equal(sizes.filter((n) => n === 1).length, 9);
    assert.equal(sizes.filter((n) => n === 2).length, 14);
    assert.equal(sizes.filter((n) => n === 3).length, THREE_TASK_CHAINS.length);
    assert.ok(THREE_TASK_CHAINS.length >= 2);
    assert.equal(new Set(COMMANDS).size, COMMANDS.length);
});

test("replies answer messages; long documents get a summary and translations", () => {
    for (const command of COMMANDS) {
        const reply = command.startsWith("reply");
        assert.equal(appliesTo(command, "email"), true);
        assert.equal(appliesTo(command, "dialogue"), true);
        assert.equal(appliesTo(command, "customer"), true);
        assert.equal(appliesTo(command, "news"), !reply, command);
    }
    const long = COMMANDS.filter((c) => appliesTo(c, "long"));
    assert.ok(long.includes("summarize" as ChainKey) && long.some((c) => c.startsWith("translate:")));
    assert.ok(long.every((c) => !c.startsWith("reply")));
});

test("the default, --real-text-n and --quick sizes", () => {
    const full = realTextShape({quick: false, n: null});
    assert.deepEqual(Object.keys(full.commands), [...GENRES]);
    assert.equal(full.commands.email?.length, COMMANDS.length);
    assert.deepEqual(full.inputs, {email: 8, news: 6, dialogue: 6, customer: 6, long: 3});
    assert.deepEqual(realTextShape({quick: false, n: 5}).inputs, {
        email: 5,
        news: 5,
        dialogue: 5,
        customer: 5,
        long: 3,
    });
    const quick = realTextShape({quick: true, n: null});
    const commands = new Set(Object.values(quick.commands).flat());
    const inputs = Object.values(quick.inputs).reduce((a, b) => a + (b ?? 0), 0);
    assert.deepEqual([commands.size, inputs, quick.shortest], [3, 2, true], "3 commands x 2 short inputs");
    assert.deepEqual([parseArgs([]).realText, parseArgs([]).realTextN], [true, null]);
    assert.deepEqual([parseArgs(["--no-real-text"]).realText, parseArgs(["--real-text-n", "4"]).realTextN], [false, 4]);
    assert.throws(() => parseArgs(["--real-text-n", "0"]), /positive integer/);
    const only = parseArgs(["--real-text-commands", "translate:fr, summarize+translate:fr"]).realTextCommands;
    assert.deepEqual(only, ["translate:fr", "summarize+translate:fr"]);
    const shape = realTextShape({quick: false, n: 2, only});
    assert.deepEqual(shape.commands.long, ["translate:fr", "summarize+translate:fr"]);
    assert.deepEqual(shape.commands.customer, ["translate:fr", "summarize+translate:fr"]);
    assert.throws(() => parseArgs(["--real-text-commands", "tone:witty+translate:de"]), /not a real-text command/);
    const genres = parseArgs(["--real-text-genres", "long, email"]).realTextGenres;
    assert.deepEqual(genres, ["long", "email"]);
    const longOnly = realTextShape({quick: false, n: null, only, genres: ["long"]});
    assert.deepEqual(Object.keys(longOnly.commands), ["long"]);
    assert.deepEqual(longOnly.inputs, {long: 3});
    assert.throws(() => parseArgs(["--real-text-genres", "poems"]), /not a real-text genre/);
});

const SET: RealTextSet = {
    seed: 1,
    data_dir: "/data",
    files: [],
    missing: {},
    pools: {email: 2},
    items: {
        "email:a": {
            id: "email:a",
            genre: "email",
            text: "Can we move the call to Friday?",
            source: "u",
            references: {},
            words: 7,
        },
        "email:b": {
            id: "email:b",
            genre: "email",
            text: "The build is broken again.",
            source: "v",
            references: {},
            words: 5,
        },
    },
    selection: {email: {summarize: ["email:a", "email:b"], "translate:fr": ["email:a"]}},
};

function generation(key: string, text: string, stop = "eog", error: string | null = null): CachedGeneration {
    return {
        key,
        variant: "",
        method: "auto",
        ranAs: "main-lora",
        id: "",
        configHash: "",
        text,
        error,
        passes:
            error === null
                ? [
                      {
                          does: "x",
                          promptTokens: 10,
                          generatedTokens: stop === "eog" ? 5 : 128,
                          stopReason: stop,
                          promptMs: 1,
                          decodeMs: 1,
                      },
                  ]
                : [],
        totalMs: 1000,
        at: "",
    };
}

test("judging, cells and totals count broken outputs per reason", () => {
    const requests: RealTextRequest[] = [
        {
            variant: "summarize",
            method: "auto",
            genre: "email",
            id: "email:a",
            input: SET.items["email:a"]?.text ?? "",
            key: "k1",
        },
        {
            variant: "summarize",
            method: "auto",
            genre: "email",
            id: "email:b",
            input: SET.items["email:b"]?.text ?? "",
            key: "k2",
        },
        {
            variant: "translate:fr",
            method: "auto",
            genre: "email",
            id: "email:a",
            input: SET.items["email:a"]?.text ?? "",
            key: "k3",
        },
    ];
    const generations = new Map([
        ["k1", generation("k1", "They want to move the call to Friday.")],
        [
            "k2",
            generation(
                "k2",
                "The build is broken again. The build is broken again. The build is broken again.",
                "max-tokens",
            ),
        ],
        ["k3", generation("k3", "", "eog", "The input is too long.")],
    ]);
    const scores = {k1: {language: "en", chrf: null}, k2: {language: "en", chrf: null}};
    const judged = judge(requests, generations, scores, 128);
    assert.deepEqual(
        judged.map((j) => [j.command, j.id, j.findings.map((f) => f.reason)]),
        [
            ["summarize", "email:a", []],
            ["summarize", "email:b", ["cut", "loop"]],
            ["translate:fr", "email:a", ["error"]],
        ],
    );
    const table = cells(judged, SET, generations, requests);
    const summarize = table.find((c) => c.command === "summarize");
    assert.deepEqual([summarize?.n, summarize?.broken, summarize?.reasons], [2, 1, {loop: 1, cut: 1}]);
    assert.deepEqual(summarize?.methods, {"main-lora": 2});
    assert.deepEqual(
        summarize?.examples.map((e) => e.id),
        ["email:b", "email:a"],
        "the first broken example, then the first sound one",
    );
    assert.equal(summarize?.lengthRatio?.median, (8 / 7 + 15 / 5) / 2);
    const all = totals(judged);
    assert.deepEqual(all.overall, {n: 3, broken: 2, reasons: {error: 1, loop: 1, cut: 1}});
    assert.deepEqual(all.byCommand["translate:fr"], {n: 1, broken: 1, reasons: {error: 1}});
    assert.equal(tallyText(all.overall), "2/3 (error 1, loop 1, cut 1)");
    assert.deepEqual(tally([]), {n: 0, broken: 0, reasons: {}});
});
