// What the palette and quick picks offer, derived from the engine's capabilities.

import assert from "node:assert/strict";
import {test} from "node:test";
import type {InstalledAdapter, Inventory} from "../../engine/compose/recipe";
import {capabilities} from "../../engine/compose/recipe";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {
    chainTitle,
    compositeCommandId,
    contributedComposites,
    nextTaskOptions,
    offeredComposites,
    offeredContextKey,
    offeredContextValues,
    parseSavedActions,
} from "../../extension/chains/chainMenu";
import {testAdapter, testCalibration} from "../support/inventory";

// A real inventory, so the menus are tested on the engine's own capability values.
const adapter = (task: string, sha: string) => testAdapter(task, sha, {template: "{input}", stopStrings: []});
const calibration = (kind: "lc" | "lc++", chain: string, adapters: InstalledAdapter[]) =>
    testCalibration(kind, chain, adapters, undefined, "{input}");
const summarize = adapter("summarize", "a".repeat(64));
const french = adapter("translate:fr", "b".repeat(64));
const reply = adapter("reply", "c".repeat(64));
const casual = adapter("tone:casual", "d".repeat(64));
const german = adapter("translate:de", "e".repeat(64));
const inventory: Inventory = {
    // reply + witty tone has no witty adapter: a zero-shot fallback, one generation but not "one pass".
    adapters: [summarize, french, reply, casual, german, adapter("reply+tone:professional", "f".repeat(64))],
    calibrations: [
        calibration("lc++", "summarize+translate:fr", [summarize, french]),
        calibration("lc", "reply+tone:casual+translate:de", [reply, casual, german]),
    ],
};
const installed = capabilities(inventory);

test("titles read like commands", () => {
    assert.equal(chainTitle(parseTaskChain("summarize+translate:fr")), "Summarize to French");
    assert.equal(chainTitle(parseTaskChain("reply+tone:casual")), "Reply in a Casual Tone");
    assert.equal(chainTitle(parseTaskChain("summarize+tone:paraphrase")), "Summarize as a Paraphrase");
    assert.equal(chainTitle(parseTaskChain("translate:de+tone:witty")), "Translate to German in a Witty Tone");
    assert.equal(
        chainTitle(parseTaskChain("reply+translate:es+tone:professional")),
        "Reply to Spanish in a Professional Tone",
    );
});

test("every main x auxiliary pair has a contributed command id and context key", () => {
    const pairs = contributedComposites();
    assert.equal(pairs.length, 14);
    const sumFr = parseTaskChain("summarize+translate:fr");
    assert.equal(compositeCommandId(sumFr), "composer.composite.summarize.translate-fr");
    assert.equal(offeredContextKey(sumFr), "composer.offered.summarize.translate-fr");
    assert.equal(new Set(pairs.map(compositeCommandId)).size, 14);
});

test("composites are offered when they run as trained, in one pass or in the passes auto chooses", () => {
    assert.deepEqual(
        offeredComposites(installed).map((item) => [item.label, item.capability.method, item.capability.passes]),
        [
            ["Reply in a Casual Tone", "multi-step", 2],
            ["Reply in a Professional Tone", "joint-expert", 1],
            ["Reply to French", "multi-step", 2],
            ["Reply to German", "multi-step", 2],
            ["Reply to German in a Casual Tone", "lc", 1],
            ["Summarize to French", "lc++", 1],
        ],
    );
    // Fallbacks are not offered: multi-step for want of a calibration (summarize + casual) and
    // zero-shot for want of an adapter (reply + witty).
    const byChain = new Map(installed.map((c) => [c.chain as string, c]));
    assert.equal(byChain.get("summarize+tone:casual")?.method, "multi-step");
    assert.equal(byChain.get("reply+tone:witty")?.method, "zero-shot");
});

test("context keys are true exactly for the offered contributed pairs", () => {
    const values = offeredContextValues(installed);
    assert.equal(values.size, 14);
    assert.deepEqual(
        [...values].filter(([, on]) => on).map(([key]) => key),
        [
            "composer.offered.summarize.translate-fr",
            "composer.offered.reply.translate-fr",
            "composer.offered.reply.translate-de",
            "composer.offered.reply.tone-professional",
            "composer.offered.reply.tone-casual",
        ],
    );
});

test("a chain this build does not know is skipped, not guessed at", () => {
    const [known] = installed.filter((c) => c.onePass && c.chain === "summarize+translate:fr");
    assert.ok(known);
    const unknown = {...known, chain: "summarize+translate:xx" as typeof known.chain};
    assert.deepEqual(
        offeredComposites([known, unknown]).map((item) => item.key),
        ["summarize+translate:fr"],
    );
});

test("Compose... offers only tasks that keep the chain valid", () => {
    assert.equal(nextTaskOptions([]).length, 9);
    const afterSummarize = nextTaskOptions(["summarize"]);
    assert.ok(!afterSummarize.includes("summarize") && !afterSummarize.includes("reply"));
    const afterFrench = nextTaskOptions(["summarize", "translate:fr"]);
    assert.ok(!afterFrench.some((task) => task.startsWith("translate:")), "one language per chain");
    assert.ok(afterFrench.includes("tone:casual"));
});

test("saved actions keep valid entries and say why others were dropped", () => {
    const {actions, problems} = parseSavedActions([
        {name: "French summary", chain: "summarize+translate:fr", method: "lc++"},
        {name: "Casual", chain: "reply+tone:casual"},
        {name: "", chain: "reply"},
        {name: "Bad", chain: "translate:fr+summarize"},
        {name: "Hidden\u202eeman", chain: "reply"},
        {name: "two\nlines", chain: "reply"},
        "nope",
    ]);
    assert.deepEqual(actions, [
        {name: "French summary", chain: "summarize+translate:fr", method: "lc++"},
        {name: "Casual", chain: "reply+tone:casual", method: "auto"},
    ]);
    assert.equal(problems.length, 5);
    assert.ok(
        problems.some((p) => /entry 5: .*bidirectional.*U\+202E/.test(p)),
        problems.join("\n"),
    );
    assert.deepEqual(parseSavedActions(undefined), {actions: [], problems: []});
});
