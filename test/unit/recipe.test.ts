import assert from "node:assert/strict";
import {test} from "node:test";
import {calibrationFileName} from "../../engine/calibrations/format";
import {OWN_TEXT_BUDGET, REWRITE_BUDGET, TRANSLATED_OWN_TEXT_BUDGET, tokensAllowed} from "../../engine/compose/length";
import {chainPrompt} from "../../engine/compose/prompt";
import {
    availableMethods,
    buildRecipe,
    capabilities,
    chainCapability,
    everyChain,
    type Inventory,
    mixKey,
    RecipeError,
} from "../../engine/compose/recipe";
import {chainKey, parseTaskChain, type TaskId, taskChain} from "../../engine/compose/taskChain";
import {testAdapter, testCalibration} from "../support/inventory";

const adapter = testAdapter;

const summarize = adapter("summarize", "a".repeat(64));
const french = adapter("translate:fr", "b".repeat(64));
const casual = adapter("tone:casual", "c".repeat(64));
const reply = adapter("reply", "d".repeat(64));
const jointSumFr = adapter("summarize+translate:fr", "e".repeat(64));

const calibration = testCalibration;

const lcpp = calibration("lc++", "summarize+translate:fr", [summarize, french], [0.8, 0.6]);
const lc = calibration("lc", "summarize+translate:fr", [summarize, french], [0.7, 0.7]);

const full: Inventory = {adapters: [summarize, french, casual, reply, jointSumFr], calibrations: [lc, lcpp]};
const sumFr = parseTaskChain("summarize,translate:fr");

test("auto picks LC++ when it is installed, with its adapters, weights and prompt", () => {
    const recipe = buildRecipe(sumFr, "auto", full);
    assert.equal(recipe.method, "lc++");
    assert.equal(recipe.passes.length, 1);
    const [pass] = recipe.passes;
    assert.deepEqual(
        pass.adapters.map((u) => [u.adapter.id, u.scale]),
        [
            ["test.summarize", 0.8],
            ["test.translate:fr", 0.6],
        ],
    );
    assert.equal(pass.calibration, lcpp);
    assert.equal(pass.prompt, lcpp.prompt);
    assert.deepEqual(recipe.notes, []);
});

test("auto falls back to LC, then to multi-step, and says so", () => {
    const withLc = buildRecipe(sumFr, "auto", {...full, calibrations: [lc]});
    assert.equal(withLc.method, "lc");
    const joint = buildRecipe(sumFr, "auto", {...full, calibrations: []});
    assert.equal(joint.method, "joint-expert", "a joint expert before multi-step");
    const none = buildRecipe(sumFr, "auto", {adapters: [summarize, french], calibrations: []});
    assert.equal(none.method, "multi-step");
    assert.equal(none.passes.length, 2);
    assert.match(none.notes.join(" "), /No calibration .* 2 passes/);
});

test("an LC++ pass runs the very adapters its calibration was bound to, at its merge weights", () => {
    // Binding (calibrations/verified.ts) happens where a calibration enters; an inventory only
    // holds bound ones, so the recipe takes the calibration's adapters as they are.
    const [pass] = buildRecipe(sumFr, "lc++", full).passes;
    assert.deepEqual(
        pass.adapters.map((use) => [use.adapter, use.scale]),
        lcpp.adapters.map((bound) => [bound.adapter, bound.mergeWeight]),
    );
    assert.equal(pass.adapters[1]?.adapter, french);
    assert.throws(() => buildRecipe(sumFr, "lc++", {...full, calibrations: [lc]}), RecipeError);
});

test("multi-step runs one pass per task with each adapter's own prompt", () => {
    const chain = taskChain(["reply", "tone:casual"] as TaskId[]);
    const recipe = buildRecipe(chain, "multi-step", full);
    assert.deepEqual(
        recipe.passes.map((p) => [p.does, p.adapters[0]?.adapter.id, p.prompt.template]),
        [
            ["reply", "test.reply", "<reply>{input}</reply>"],
            ["tone:casual", "test.tone:casual", "<tone:casual>{input}</tone:casual>"],
        ],
    );
});

test("linear merge uses the calibration's trained weights when there is one, else full weights", () => {
    const trained = buildRecipe(sumFr, "linear-merge", full);
    assert.deepEqual(
        trained.passes[0].adapters.map((u) => u.scale),
        [0.8, 0.6],
    );
    assert.equal(trained.passes[0].calibration, null);
    const untrained = buildRecipe(parseTaskChain("reply,tone:casual"), "linear-merge", full);
    assert.deepEqual(
        untrained.passes[0].adapters.map((u) => u.scale),
        [1, 1],
    );
    assert.deepEqual(untrained.passes[0].prompt, chainPrompt(parseTaskChain("reply,tone:casual")));
});

test("zero-shot uses no adapter and the composite instruction", () => {
    const recipe = buildRecipe(sumFr, "zero-shot", full);
    assert.equal(recipe.passes[0].adapters.length, 0);
    assert.deepEqual(recipe.passes[0].prompt, chainPrompt(sumFr));
});

test("a single task uses its own adapter and prompt; with none, zero-shot and a note", () => {
    const recipe = buildRecipe(parseTaskChain("translate:fr"), "auto", full);
    assert.equal(recipe.method, "aux-lora");
    assert.equal(recipe.passes[0].prompt, french.prompt);
    const missing = buildRecipe(parseTaskChain("translate:de"), "auto", full);
    assert.equal(missing.method, "zero-shot");
    assert.match(missing.notes[0] ?? "", /No adapter for "translate:de"/);
});

test("explicit methods that cannot apply fail with the reason", () => {
    assert.throws(() => buildRecipe(parseTaskChain("tone:casual"), "main-lora", full), /has no main task/);
    assert.throws(
        () => buildRecipe(parseTaskChain("reply,translate:de"), "multi-step", full),
        /needs an adapter for "translate:de"/,
    );
    assert.throws(() => buildRecipe(parseTaskChain("reply,tone:casual"), "joint-expert", full), /No joint-expert/);
});

test("available methods list exactly what the inventory allows", () => {
    assert.deepEqual(availableMethods(sumFr, full), [
        "zero-shot",
        "main-lora",
        "aux-lora",
        "linear-merge",
        "multi-step",
        "joint-expert",
        "lc",
        "lc++",
    ]);
    assert.deepEqual(availableMethods(parseTaskChain("reply,translate:de"), full), ["zero-shot", "main-lora"]);
});

test("a calibration refused where it entered: its chain lacks that method, other chains are listed as usual", () => {
    const chain = parseTaskChain("tone:paraphrase,translate:es");
    const error = new Error('tone-paraphrase+translate-es.lcpp.gguf: adapter "test.tone-paraphrase" is not installed.');
    const partial = {
        ...full,
        refusedCalibrations: [
            {
                path: "/pack/tone-paraphrase+translate-es.lcpp.gguf",
                fileName: calibrationFileName(chain, "lc++"),
                code: "adapter-missing",
                reason: 'adapter "test.tone-paraphrase" is not installed.',
                error,
            },
        ],
    };
    assert.ok(!availableMethods(chain, partial).includes("lc++"));
    assert.deepEqual(availableMethods(sumFr, partial), availableMethods(sumFr, full));
    // Asked for by name, the file's own error says why.
    assert.throws(
        () => buildRecipe(chain, "lc++", partial),
        (thrown) => thrown === error,
    );
});

test("mix keys separate different scales and calibrations and match equal mixes", () => {
    const a = buildRecipe(sumFr, "lc++", full).passes[0];
    const b = buildRecipe(sumFr, "lc++", full).passes[0];
    const merge = buildRecipe(sumFr, "linear-merge", full).passes[0];
    assert.equal(mixKey(a), mixKey(b));
    assert.notEqual(mixKey(a), mixKey(merge));
    assert.equal(mixKey(buildRecipe(sumFr, "zero-shot", full).passes[0]), "base");
});

test("each pass's budget and reading follow from what it does", () => {
    const inventory: Inventory = {adapters: [summarize, french, casual, reply], calibrations: [lcpp]};
    const sumFr = buildRecipe(parseTaskChain("summarize,translate:fr"), "lc++", inventory);
    assert.deepEqual(
        sumFr.passes.map((p) => [p.budget.kind, p.reads]),
        [["bounded", "chunks"]],
    );
    // The chunks of a long text are summarized by the summarize adapter alone, in English.
    assert.deepEqual(
        sumFr.chunkSummary?.adapters.map((use) => use.adapter.id),
        ["test.summarize"],
    );
    const multi = buildRecipe(parseTaskChain("summarize,translate:fr"), "multi-step", inventory);
    assert.deepEqual(
        multi.passes.map((p) => [p.does, p.budget.kind, p.reads]),
        [
            ["summarize", "bounded", "chunks"],
            ["translate:fr", "follows-input", "segments"],
        ],
    );
    // Written in French in one pass, the summary gets the room French takes; in English, the English budget.
    const oneShot = buildRecipe(parseTaskChain("summarize,translate:fr"), "linear-merge", inventory);
    assert.deepEqual([oneShot.passes[0].budget, multi.passes[0].budget], [TRANSLATED_OWN_TEXT_BUDGET, OWN_TEXT_BUDGET]);
    const replyCasual = buildRecipe(parseTaskChain("reply,tone:casual"), "linear-merge", inventory);
    assert.deepEqual([replyCasual.passes[0].reads, replyCasual.chunkSummary], ["whole", null]);
    const rewrite = buildRecipe(parseTaskChain("tone:casual,translate:fr"), "multi-step", inventory);
    assert.ok(rewrite.passes.every((p) => p.reads === "segments" && p.budget.kind === "follows-input"));
});

test("a rewrite's budget follows its input; a caller's limit caps every budget", () => {
    assert.equal(tokensAllowed(REWRITE_BUDGET, 100), 216);
    assert.equal(tokensAllowed(REWRITE_BUDGET, 100, 64), 64);
    assert.equal(tokensAllowed(OWN_TEXT_BUDGET, 5000), 128);
});

// The capability: how "auto" runs a chain, decided once for the CLI, the menus and the builder.

test("a calibrated chain runs in one pass by its calibration", () => {
    assert.deepEqual(chainCapability(sumFr, full), {
        chain: "summarize+translate:fr",
        title: "Summarize → French",
        method: "lc++",
        passes: 1,
        onePass: true,
        note: null,
        methods: ["zero-shot", "main-lora", "aux-lora", "linear-merge", "multi-step", "joint-expert", "lc", "lc++"],
    });
    assert.equal(chainCapability(sumFr, {...full, calibrations: [lc]}).method, "lc");
});

test("a joint expert runs its chain in one pass", () => {
    const capability = chainCapability(sumFr, {adapters: [summarize, french, jointSumFr], calibrations: []});
    assert.deepEqual(
        [capability.method, capability.passes, capability.onePass, capability.note],
        ["joint-expert", 1, true, null],
    );
});

test("a composite without a calibration falls back to one pass per task, and says why", () => {
    const capability = chainCapability(parseTaskChain("summarize,tone:casual"), full);
    assert.deepEqual([capability.method, capability.passes, capability.onePass], ["multi-step", 2, false]);
    assert.match(capability.note ?? "", /No calibration for "Summarize → casual tone": running 2 passes/);
});

test("a zero-shot fallback is one generation but never labelled one pass", () => {
    // A composite missing an adapter, and a single task without its adapter.
    for (const chain of ["reply,translate:de", "translate:de"]) {
        const capability = chainCapability(parseTaskChain(chain), full);
        assert.deepEqual([capability.method, capability.passes, capability.onePass], ["zero-shot", 1, false], chain);
        assert.match(capability.note ?? "", /zero-shot/, chain);
    }
});

test("a single task with its own adapter runs in one pass", () => {
    assert.deepEqual(
        [summarize, french].map((a) => {
            const capability = chainCapability(a.chain, full);
            return [capability.method, capability.passes, capability.onePass, capability.note];
        }),
        [
            ["main-lora", 1, true, null],
            ["aux-lora", 1, true, null],
        ],
    );
});

test("capabilities cover every chain a user can build, once each, three-task calibrations included", () => {
    const all = everyChain();
    // (no main, summarize, reply) x (any of 4 tones) x (no language or one of 3), less the empty chain.
    assert.equal(all.length, 3 * 16 * 4 - 1);
    assert.equal(new Set(all.map(chainKey)).size, all.length);
    const listed = capabilities(full);
    assert.equal(listed.length, all.length);
    assert.equal(listed.filter((c) => c.onePass && c.chain.includes("+")).length, 1, "only summarize+French");
    const threeTasks = calibration("lc", "reply+tone:casual+translate:fr", [reply, casual, french], [1, 1, 1]);
    const withThree = capabilities({...full, calibrations: [threeTasks]});
    const entry = withThree.find((c) => c.chain === "reply+tone:casual+translate:fr");
    assert.deepEqual([entry?.method, entry?.onePass], ["lc", true]);
});

test("auto on a one-pass composite that translates keeps the translation adapter to translate an English answer", () => {
    const recipe = buildRecipe(sumFr, "auto", full);
    const repair = recipe.languageRepair;
    assert.ok(repair !== null);
    assert.equal(repair.does, "translate:fr");
    assert.deepEqual(
        repair.adapters.map((u) => [u.adapter, u.scale]),
        [[french, 1]],
    );
    assert.equal(repair.calibration, null);
    assert.equal(repair.prompt, french.prompt);
    assert.equal(repair.reads, "segments", "read as the translation command reads");
    assert.equal(repair.fragments, "translate");
    const joint = buildRecipe(sumFr, "auto", {...full, calibrations: []});
    assert.equal(joint.method, "joint-expert");
    assert.equal(joint.languageRepair?.does, "translate:fr");
    // An explicit method runs as chosen (the benchmark compares methods); several passes end in the
    // translation already; a chain without a language, or without its adapter, has nothing to repair with.
    assert.equal(buildRecipe(sumFr, "lc++", full).languageRepair, null);
    assert.equal(buildRecipe(sumFr, "auto", {adapters: [summarize, french], calibrations: []}).languageRepair, null);
    assert.equal(buildRecipe(taskChain(["translate:fr"]), "auto", full).languageRepair, null);
    assert.equal(buildRecipe(taskChain(["reply", "tone:casual"] as TaskId[]), "auto", full).languageRepair, null);
    assert.equal(
        buildRecipe(sumFr, "auto", {adapters: [summarize, jointSumFr], calibrations: []}).languageRepair,
        null,
    );
});

test("auto on a one-pass summary composite keeps multi-step, to write a copied summary again", () => {
    const sumCasual = parseTaskChain("summarize,tone:casual");
    const lcCasual = calibration("lc++", "summarize+tone:casual", [summarize, casual], [1, 1]);
    const withCasual: Inventory = {...full, calibrations: [...full.calibrations, lcCasual]};
    const recipe = buildRecipe(sumCasual, "auto", withCasual);
    assert.equal(recipe.method, "lc++");
    assert.deepEqual(
        recipe.stepsFallback?.map((p) => [p.does, p.adapters.map((u) => u.adapter), p.calibration, p.reads]),
        [
            ["summarize", [summarize], null, "chunks"],
            ["tone:casual", [casual], null, "segments"],
        ],
    );
    assert.deepEqual(
        buildRecipe(sumFr, "auto", full).stepsFallback?.map((p) => p.does),
        ["summarize", "translate:fr"],
        "a translating summary too (its copy is English, and the translation of a copy is no summary)",
    );
    // An explicit method runs as chosen; a reply is not a summary; multi-step has nothing to fall
    // back to; without an adapter for each task there is no multi-step.
    assert.equal(buildRecipe(sumCasual, "lc++", withCasual).stepsFallback, null);
    assert.equal(buildRecipe(taskChain(["reply", "tone:casual"] as TaskId[]), "auto", full).stepsFallback, null);
    assert.equal(buildRecipe(taskChain(["summarize"]), "auto", full).stepsFallback, null);
    assert.equal(buildRecipe(sumFr, "auto", {adapters: [summarize, french], calibrations: []}).stepsFallback, null);
    assert.equal(buildRecipe(sumFr, "auto", {adapters: [summarize, jointSumFr], calibrations: []}).stepsFallback, null);
});

test("auto runs a reply, then its translation or tone, in two passes even with a calibration installed", () => {
    const lcppReplyFr = calibration("lc++", "reply+translate:fr", [reply, french], [1, 1]);
    const lcppReplyCasual = calibration("lc++", "reply+tone:casual", [reply, casual], [1, 1]);
    const inventory: Inventory = {...full, calibrations: [...full.calibrations, lcppReplyFr, lcppReplyCasual]};
    for (const [chain, rewrite] of [
        ["reply,translate:fr", french],
        ["reply,tone:casual", casual],
    ] as const) {
        const recipe = buildRecipe(parseTaskChain(chain), "auto", inventory);
        assert.equal(recipe.method, "multi-step", chain);
        assert.deepEqual(
            recipe.passes.map((p) => [p.adapters.map((u) => u.adapter), p.calibration]),
            [
                [[reply], null],
                [[rewrite], null],
            ],
        );
        assert.deepEqual(recipe.notes, [], "a choice, not a fallback");
        assert.equal(chainCapability(parseTaskChain(chain), inventory).method, "multi-step");
        // Asked for by name, the calibration runs.
        assert.equal(buildRecipe(parseTaskChain(chain), "lc++", inventory).method, "lc++");
    }
    // A summary in a tone keeps its one pass.
    const lcppSumCasual = calibration("lc++", "summarize+tone:casual", [summarize, casual], [1, 1]);
    const sumCasual = parseTaskChain("summarize,tone:casual");
    assert.equal(buildRecipe(sumCasual, "auto", {...full, calibrations: [lcppSumCasual]}).method, "lc++");
});

test("only a tone rewrite into English keeps its sentences' facts; translations and main tasks do not", () => {
    const keeps = (chain: string, method: "auto" | "multi-step" = "auto") =>
        buildRecipe(parseTaskChain(chain), method, full).passes.map((p) => [p.does, p.keepsFacts]);
    assert.deepEqual(keeps("tone:casual"), [["tone:casual", true]]);
    assert.deepEqual(keeps("translate:fr"), [["translate:fr", false]]);
    // Run step by step, a reply's casual pass is a tone rewrite of the reply.
    assert.deepEqual(keeps("reply,tone:casual", "multi-step"), [
        ["reply", false],
        ["tone:casual", true],
    ]);
    assert.deepEqual(keeps("summarize,translate:fr"), [["summarize+translate:fr", false]]);
});

test("with two adapters for a task, it runs alone on the one not kept for calibrations; the calibration keeps its own", () => {
    // The bundled paraphrase adapter the composites were calibrated on, and the one that rewrites.
    const calibrated = adapter("tone:paraphrase", "1".repeat(64), undefined, {keptForCalibrations: true});
    const rewrites = adapter("tone:paraphrase", "2".repeat(64), undefined, {id: "test.tone:paraphrase-v2"});
    const onIt = calibration("lc++", "summarize+tone:paraphrase", [summarize, calibrated]);
    const inventory: Inventory = {adapters: [summarize, calibrated, rewrites], calibrations: [onIt]};
    const paraphrase = parseTaskChain("tone:paraphrase");
    const alone = buildRecipe(paraphrase, "auto", inventory);
    assert.deepEqual(
        alone.passes.map((p) => p.adapters.map((u) => u.adapter.sha256)),
        [[rewrites.sha256]],
        "the task alone runs on the adapter that is not kept for calibrations, though its id sorts after",
    );
    const steps = buildRecipe(parseTaskChain("summarize,tone:paraphrase"), "multi-step", inventory);
    assert.equal(steps.passes[1]?.adapters[0]?.adapter, rewrites, "so does an uncalibrated composite's pass");
    const onePass = buildRecipe(parseTaskChain("summarize,tone:paraphrase"), "lc++", inventory);
    assert.deepEqual(
        onePass.passes[0]?.adapters.map((u) => u.adapter),
        [summarize, calibrated],
        "the calibration runs on the adapter it was trained on",
    );
    const merge = buildRecipe(parseTaskChain("summarize,tone:paraphrase"), "linear-merge", inventory);
    assert.deepEqual(
        merge.passes[0]?.adapters.map((u) => [u.adapter, u.scale]),
        [
            [summarize, 1],
            [calibrated, 1],
        ],
        "so does the merge of its chain: LC minus the correction",
    );
    const onlyKept = buildRecipe(paraphrase, "auto", {adapters: [calibrated], calibrations: []});
    assert.equal(onlyKept.passes[0]?.adapters[0]?.adapter, calibrated, "alone, the kept adapter still runs the task");
});

test("a task runs on the adapter the user installed before a bundled one for it", () => {
    const bundled = adapter("tone:casual", "3".repeat(64), undefined, {id: "a.bundled"});
    const users = adapter("tone:casual", "4".repeat(64), undefined, {id: "z.users", bundled: false});
    const recipe = buildRecipe(parseTaskChain("tone:casual"), "auto", {adapters: [bundled, users], calibrations: []});
    assert.equal(recipe.passes[0]?.adapters[0]?.adapter, users);
});
