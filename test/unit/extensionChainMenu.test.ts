// What the palette and quick picks offer, derived from the engine's capabilities.

import assert from "node:assert/strict";
import {test} from "node:test";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {
    type CapabilityView,
    calibratedComposites,
    calibratedContextKey,
    calibratedContextValues,
    chainTitle,
    compositeCommandId,
    contributedComposites,
    nextTaskOptions,
    parseSavedActions,
} from "../../extension/chains/chainMenu";

const capability = (chain: string, onePass: boolean, auto = onePass ? "lc++" : "multi-step"): CapabilityView => ({
    chain,
    title: chain,
    auto,
    onePass,
    note: null,
    methods: [],
});

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
    assert.equal(calibratedContextKey(sumFr), "composer.calibrated.summarize.translate-fr");
    assert.equal(new Set(pairs.map(compositeCommandId)).size, 14);
});

test("composites are offered only when they run in one pass, whatever their length", () => {
    const items = calibratedComposites([
        capability("summarize", true, "main-lora"),
        capability("summarize+translate:fr", true),
        capability("reply+tone:casual", false),
        capability("reply+tone:witty", true, "zero-shot"),
        capability("reply+translate:de+tone:witty", true, "lc"),
        capability("summarize+translate:xx", true),
    ]);
    assert.deepEqual(
        items.map((item) => [item.label, item.method]),
        [
            ["Reply to German in a Witty Tone", "lc"],
            ["Summarize to French", "lc++"],
        ],
    );
});

test("context keys are true exactly for the calibrated contributed pairs", () => {
    const values = calibratedContextValues([
        capability("summarize+translate:fr", true),
        capability("reply+tone:casual", false),
        capability("reply+tone:witty", true, "zero-shot"),
    ]);
    assert.equal(values.size, 14);
    assert.equal(values.get("composer.calibrated.summarize.translate-fr"), true);
    assert.equal(values.get("composer.calibrated.reply.tone-casual"), false);
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
