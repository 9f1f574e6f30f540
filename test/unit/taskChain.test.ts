import assert from "node:assert/strict";
import {test} from "node:test";
import {
    chainKey,
    chainTasks,
    describeChain,
    isComposite,
    orderAuxTasks,
    parseTaskChain,
    TaskChainError,
    taskChain,
} from "../../engine/compose/taskChain";

test("parses a main task followed by auxiliary tasks in either separator", () => {
    const chain = parseTaskChain("summarize, translate:fr");
    assert.deepEqual(chain, {main: "summarize", aux: ["translate:fr"]});
    assert.equal(chainKey(parseTaskChain("summarize+translate:fr")), "summarize+translate:fr");
    assert.equal(describeChain(chain), "Summarize → French");
    assert.ok(isComposite(chain));
});

test("an auxiliary-only chain has no main task", () => {
    const chain = parseTaskChain("tone:casual,translate:de");
    assert.equal(chain.main, null);
    assert.deepEqual(chainTasks(chain), ["tone:casual", "translate:de"]);
});

test("a single task is a chain that is not composite", () => {
    assert.equal(isComposite(taskChain(["reply"])), false);
});

test("rejects what cannot be a chain, each with its reason", () => {
    assert.throws(() => parseTaskChain(""), /at least one task/);
    assert.throws(() => parseTaskChain("summarise"), /Unknown task "summarise"/);
    assert.throws(() => parseTaskChain("translate:fr,summarize"), /must come first/);
    assert.throws(() => parseTaskChain("summarize,reply"), /must come first/);
    assert.throws(() => parseTaskChain("reply,tone:witty,tone:witty"), /appears twice/);
    assert.throws(() => parseTaskChain("summarize,translate:fr,translate:de"), /one language only/);
    assert.throws(() => parseTaskChain("translate:it"), TaskChainError);
});

test("a tone runs before the translation, whatever order the tasks were picked in", () => {
    assert.deepEqual(orderAuxTasks(["translate:fr", "tone:casual"]), ["tone:casual", "translate:fr"]);
    assert.deepEqual(orderAuxTasks(["tone:witty", "translate:de"]), ["tone:witty", "translate:de"]);
    assert.deepEqual(orderAuxTasks(["translate:es"]), ["translate:es"]);
});

test("every way of naming the same tasks makes the same chain and key", () => {
    const picked = [parseTaskChain("translate:fr,tone:casual"), parseTaskChain("tone:casual+translate:fr")];
    for (const chain of picked) assert.equal(chainKey(chain), "tone:casual+translate:fr");
    assert.equal(chainKey(taskChain(["reply", "translate:de", "tone:witty"])), "reply+tone:witty+translate:de");
});
