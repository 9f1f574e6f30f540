// Where a result goes: replies below the text they answer, everything else in place of the
// selection, reviewed first unless the setting overrides it; the insertion point; empty input.

import assert from "node:assert/strict";
import {test} from "node:test";
import {AUX_TASKS, parseTaskChain, type TaskChain, taskChain} from "../../engine/compose/taskChain";
import {contributedComposites} from "../../extension/chains/chainMenu";
import {emptyInput, insertionBelow, OUTPUT_MODES, planOutput, taskPlacement} from "../../extension/review/outputPlan";
import {readSettings} from "../../extension/settings";

const reply = parseTaskChain("reply");
const summarize = parseTaskChain("summarize");
const casualFrench = parseTaskChain("tone:casual,translate:fr");

test("every chain whose main task is reply goes below the selection; every other chain replaces it", () => {
    const chains: TaskChain[] = [
        reply,
        summarize,
        ...contributedComposites(),
        ...AUX_TASKS.map((task) => taskChain([task])),
        casualFrench,
        parseTaskChain("reply,tone:casual,translate:fr"),
    ];
    for (const chain of chains)
        assert.equal(taskPlacement(chain), chain.main === "reply" ? "insertBelow" : "replace", JSON.stringify(chain));
    // A casual reply goes below its text; a German translation replaces the selection.
    assert.equal(taskPlacement(parseTaskChain("reply,tone:casual")), "insertBelow");
    assert.equal(taskPlacement(parseTaskChain("translate:de")), "replace");
    assert.equal(taskPlacement(parseTaskChain("tone:professional")), "replace");
});

test("auto (the default) reviews every result in the task's place; the other modes override it", () => {
    const editable = {editable: true};
    assert.deepEqual(planOutput("auto", reply, editable), {placement: "insertBelow", review: true});
    assert.deepEqual(planOutput("auto", summarize, editable), {placement: "replace", review: true});
    assert.deepEqual(planOutput("auto", casualFrench, editable), {placement: "replace", review: true});
    // "review" keeps its old meaning: Accept replaces the selection, replies included.
    assert.deepEqual(planOutput("review", reply, editable), {placement: "replace", review: true});
    for (const chain of [reply, summarize]) {
        assert.deepEqual(planOutput("replace", chain, editable), {placement: "replace", review: false});
        assert.deepEqual(planOutput("insertBelow", chain, editable), {placement: "insertBelow", review: false});
        assert.deepEqual(planOutput("newDocument", chain, editable), {placement: "newDocument", review: false});
    }
});

test("the builder always reviews, in the place the setting gives", () => {
    const builder = {editable: true, alwaysReview: true};
    assert.deepEqual(planOutput("replace", reply, builder), {placement: "replace", review: true});
    assert.deepEqual(planOutput("insertBelow", summarize, builder), {placement: "insertBelow", review: true});
    assert.deepEqual(planOutput("newDocument", reply, builder), {placement: "insertBelow", review: true});
    assert.deepEqual(planOutput("auto", reply, builder), {placement: "insertBelow", review: true});
});

test("a document that cannot be edited gets its result in a new document, whatever the mode", () => {
    for (const mode of OUTPUT_MODES)
        for (const chain of [reply, summarize])
            assert.deepEqual(planOutput(mode, chain, {editable: false, alwaysReview: true}), {
                placement: "newDocument",
                review: false,
            });
});

test("a reply is inserted after the selection's last line, as a new paragraph", () => {
    const email = "Hi Anna,\nCan we meet on Friday?\nBest, Tom";
    // Whole lines selected with the trailing newline: the reply follows the last line, not an empty one.
    const doc = `${email}\n`;
    assert.deepEqual(insertionBelow(doc, {start: 0, end: doc.length}, "Yes.", "\n"), {
        offset: email.length,
        text: "\n\nYes.",
    });
    // Without the trailing newline, and with the whole document: the same place.
    assert.equal(insertionBelow(email, {start: 0, end: email.length}, "x", "\n").offset, email.length);
    // A selection ending mid-line: after the rest of that line, never inside it.
    const mid = email.indexOf("Friday");
    assert.equal(insertionBelow(doc, {start: 0, end: mid}, "x", "\n").offset, email.indexOf("\nBest"));
    // Text below the selection stays below the reply.
    const thread = `# Inbox\n\n${email}\n\n# Sent\n`;
    const start = thread.indexOf("Hi Anna");
    const inserted = insertionBelow(thread, {start, end: start + email.length + 1}, "Yes.", "\n");
    const result = thread.slice(0, inserted.offset) + inserted.text + thread.slice(inserted.offset);
    assert.equal(result, `# Inbox\n\n${email}\n\nYes.\n\n# Sent\n`);
    // CRLF documents: before the \r, with CRLF blank lines.
    const crlf = "Hi\r\nThanks\r\n";
    assert.deepEqual(insertionBelow(crlf, {start: 0, end: crlf.length}, "Ok", "\r\n"), {
        offset: "Hi\r\nThanks".length,
        text: "\r\n\r\nOk",
    });
    assert.equal(insertionBelow(crlf, {start: 0, end: 2}, "Ok", "\r\n").offset, 2);
});

test("an empty or whitespace-only selection is refused, and says which", () => {
    assert.equal(emptyInput("Hello", false), null);
    assert.equal(emptyInput("  x ", true), null);
    assert.equal(emptyInput(" \n\t \u00a0", false), "whitespace-selection");
    assert.equal(emptyInput("", true), "empty-document");
    assert.equal(emptyInput("\n\n", true), "empty-document");
});

test("the output mode setting defaults to auto and falls back to it on an unknown value", () => {
    assert.equal(readSettings(() => undefined).outputMode, "auto");
    assert.equal(readSettings((key) => (key === "outputMode" ? "below" : undefined)).outputMode, "auto");
    assert.equal(readSettings((key) => (key === "outputMode" ? "review" : undefined)).outputMode, "review");
});
