// The benchmark's resumable cache and statistics: entries survive a restart, a line torn by an
// interrupted write is skipped (and the next entry still lands on its own line), the config hash
// changes with anything that changes the output, and medians/rotation behave.

import assert from "node:assert/strict";
import {appendFile, mkdtemp, readFile, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {test} from "node:test";
import {parseArgs} from "../../bench/args";
import {
    type CachedGeneration,
    GenerationCache,
    generationKey,
    inputHash,
    keyConfigHash,
    recipeConfigHash,
} from "../../bench/cache";
import {rotate, summarize} from "../../bench/stats";
import {QUICK_VARIANTS, VARIANTS} from "../../bench/variants";
import {OWN_TEXT_BUDGET, REWRITE_BUDGET} from "../../engine/compose/length";
import {chainPrompt} from "../../engine/compose/prompt";
import type {InstalledAdapter, Recipe} from "../../engine/compose/recipe";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {DECODING, PAPER_DECODING} from "../../engine/runtime/decoding";
import {UNREAD_VERSION} from "../support/inventory";

function entry(key: string, text: string): CachedGeneration {
    return {
        key,
        variant: "v",
        method: "lc",
        id: "i",
        configHash: "h",
        text,
        error: null,
        passes: [],
        totalMs: 1,
        at: "t",
    };
}

test("the cache resumes after a restart and skips a torn last line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bench-cache-"));
    try {
        const path = join(dir, "cache", "generations.jsonl");
        const first = await GenerationCache.open(path);
        await first.add(entry("a", "one"));
        await first.add(entry("b", "two"));
        await appendFile(path, '\n{"key": "c", "text": "torn'); // killed mid-write
        const second = await GenerationCache.open(path);
        assert.equal(second.size, 2);
        assert.equal(second.get("b")?.text, "two");
        assert.equal(second.get("c"), undefined);
        await second.add(entry("c", "three"));
        const third = await GenerationCache.open(path);
        assert.equal(third.get("c")?.text, "three");
        assert.match(await readFile(path, "utf8"), /torn\n\{"key":"c"/);
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});

test("the config hash follows adapter bytes, scales, prompts and the token budget", () => {
    const chain = parseTaskChain("summarize+translate:fr");
    const adapter = (sha256: string): InstalledAdapter => ({
        id: "a",
        chain,
        filePath: "/a",
        sha256,
        version: UNREAD_VERSION,
        prompt: chainPrompt(chain),
        bundled: true,
        keptForCalibrations: false,
    });
    const recipe = (sha: string, scale: number): Recipe => ({
        chain,
        method: "linear-merge",
        passes: [
            {
                does: "summarize+translate:fr" as never,
                adapters: [{adapter: adapter(sha), scale}],
                calibration: null,
                prompt: chainPrompt(chain),
                budget: OWN_TEXT_BUDGET,
                reads: "chunks",
                fragments: "keep",
                quotes: "keep",
                keepsFacts: false,
            },
        ],
        notes: [],
        chunkSummary: null,
        languageRepair: null,
        stepsFallback: null,
    });
    const model = {fingerprint: "f", sha256: "s"};
    const base = recipeConfigHash(recipe("x", 0.5), model, 128, DECODING);
    assert.equal(recipeConfigHash(recipe("x", 0.5), model, 128, DECODING), base);
    assert.notEqual(recipeConfigHash(recipe("y", 0.5), model, 128, DECODING), base);
    assert.notEqual(recipeConfigHash(recipe("x", 0.6), model, 128, DECODING), base);
    assert.notEqual(recipeConfigHash(recipe("x", 0.5), model, 64, DECODING), base);
    assert.notEqual(recipeConfigHash(recipe("x", 0.5), {fingerprint: "f", sha256: "t"}, 128, DECODING), base);
    assert.notEqual(recipeConfigHash(recipe("x", 0.5), model, 128, PAPER_DECODING), base);
});

test("generations are keyed by the input text, not its id", () => {
    // Synthetic-Persona-Chat ids repeat across splits: "spc:3:1" of the dev csv and of a test csv
    // are different turns. The same id with another text must not find the other's output...
    const dev = "Hi! I just got back from walking my two dogs.";
    const test = "I'm a nurse, and I work night shifts at the hospital.";
    const devKey = generationKey("reply+tone:casual", "lc++", dev, "cfg");
    const testKey = generationKey("reply+tone:casual", "lc++", test, "cfg");
    assert.notEqual(devKey, testKey);
    // ...and the same text under any id, from any data folder, is the same generation.
    assert.equal(generationKey("reply+tone:casual", "lc++", dev, "cfg"), devKey);
    assert.notEqual(generationKey("reply+tone:casual", "lc++", `${dev} `, "cfg"), devKey, "every byte counts");
    assert.match(devKey, /^reply\+tone:casual\|lc\+\+\|[0-9a-f]{16}\|cfg$/);
    assert.equal(devKey.split("|")[2], inputHash(dev));
    assert.equal(keyConfigHash(devKey), "cfg");
    assert.notEqual(generationKey("reply+tone:casual", "lc", dev, "cfg"), devKey);
    assert.notEqual(generationKey("reply+tone:casual", "lc++", dev, "cfg2"), devKey);
});

test("a fused (multi-LoRA) pass has a key of its own; a one-LoRA pass keeps the key it had before fusing", () => {
    const chain = parseTaskChain("summarize+translate:fr");
    const adapter = (sha256: string): InstalledAdapter => ({
        id: sha256,
        chain,
        filePath: `/${sha256}`,
        sha256,
        version: UNREAD_VERSION,
        prompt: chainPrompt(chain),
        bundled: true,
        keptForCalibrations: false,
    });
    const recipe = (shas: readonly string[]): Recipe => ({
        chain,
        method: "linear-merge",
        passes: [
            {
                does: "summarize+translate:fr" as never,
                adapters: shas.map((sha) => ({adapter: adapter(sha), scale: 0.5})),
                calibration: null,
                prompt: chainPrompt(chain),
                budget: OWN_TEXT_BUDGET,
                reads: "chunks",
                fragments: "keep",
                quotes: "keep",
                keepsFacts: false,
            },
        ],
        notes: [],
        chunkSummary: null,
        languageRepair: null,
        stepsFallback: null,
    });
    const model = {fingerprint: "f", sha256: "s"};
    // Both computed by the cache before the fused form existed (main at 537ea38), with the decoding
    // of that day (no script guard yet).
    const {scriptGuard: _, ...decodingThen} = DECODING;
    const then = decodingThen as typeof DECODING;
    assert.equal(recipeConfigHash(recipe(["x"]), model, 128, then), "47b1da7958a30588", "one LoRA: key kept");
    assert.notEqual(
        recipeConfigHash(recipe(["x"]), model, 128, DECODING),
        "47b1da7958a30588",
        "a change of decoding (the script guard) is a new key: its outputs may differ",
    );
    assert.notEqual(
        recipeConfigHash(recipe(["x", "y"]), model, 128, then),
        "7dde05f33a612f2a",
        "two LoRAs: fused, new key",
    );
});

test("runaway retries and the copy penalty key the generations they act on, and nothing else", () => {
    const recipeOf = (key: string, reads: "segments" | "chunks", keepsFacts = false): Recipe => {
        const chain = parseTaskChain(key);
        const adapter: InstalledAdapter = {
            id: key,
            chain,
            filePath: `/${key}`,
            sha256: key,
            version: UNREAD_VERSION,
            prompt: chainPrompt(chain),
            bundled: true,
            keptForCalibrations: false,
        };
        return {
            chain,
            method: "main-lora",
            passes: [
                {
                    does: key as never,
                    adapters: [{adapter, scale: 1}],
                    calibration: null,
                    prompt: chainPrompt(chain),
                    budget: reads === "segments" ? REWRITE_BUDGET : OWN_TEXT_BUDGET,
                    reads,
                    fragments: "keep",
                    quotes: "keep",
                    keepsFacts,
                },
            ],
            notes: [],
            chunkSummary: null,
            languageRepair: null,
            stepsFallback: null,
        };
    };
    const model = {fingerprint: "f", sha256: "s"};
    const withoutRetries = {...DECODING, runawayRetries: []};
    const rewrite = recipeOf("translate:fr", "segments");
    const summary = recipeOf("summarize", "chunks");
    assert.ok(DECODING.runawayRetries.length > 0);
    assert.notEqual(
        recipeConfigHash(rewrite, model, null, DECODING),
        recipeConfigHash(rewrite, model, null, withoutRetries),
        "a rewrite's output may change with its retries",
    );
    assert.equal(
        recipeConfigHash(summary, model, null, DECODING),
        recipeConfigHash(summary, model, null, withoutRetries),
        "a summary never retries: its cached outputs stay valid",
    );
    const withoutCopyPenalty = {...DECODING, copyPenalty: null};
    const reply = recipeOf("reply", "chunks");
    assert.ok(DECODING.copyPenalty !== null);
    assert.notEqual(
        recipeConfigHash(reply, model, null, DECODING),
        recipeConfigHash(reply, model, null, withoutCopyPenalty),
        "a reply's output may change with the copy penalty",
    );
    for (const recipe of [rewrite, summary, recipeOf("tone:casual", "segments", true)])
        assert.equal(
            recipeConfigHash(recipe, model, null, DECODING),
            recipeConfigHash(recipe, model, null, withoutCopyPenalty),
            "only a reply is written again when it copies: rewrites and summaries keep their keys",
        );
});

test("medians, quartiles and rotation", () => {
    const s = summarize([5, 1, 3, Number.NaN, 2, 4]);
    assert.deepEqual([s.n, s.median, s.p25, s.p75, s.min, s.max], [5, 3, 2, 4, 1, 5]);
    assert.equal(s.relIqr, 2 / 3);
    assert.deepEqual(rotate([1, 2, 3], 1), [2, 3, 1]);
    assert.deepEqual(rotate([1, 2, 3], 4), [2, 3, 1]);
});

test("14 variants in 4 groups; arguments parse with quick defaults", () => {
    assert.equal(VARIANTS.length, 14);
    assert.deepEqual(
        ["Sum+Tr", "Sum+Tone", "Rep+Tr", "Rep+Tone"].map((g) => [g, VARIANTS.filter((v) => v.group === g).length]),
        [
            ["Sum+Tr", 3],
            ["Sum+Tone", 4],
            ["Rep+Tr", 3],
            ["Rep+Tone", 4],
        ],
    );
    const quick = parseArgs(["--quick"]);
    assert.equal(quick.pack, "crafted");
    assert.deepEqual(quick.variants, [...QUICK_VARIANTS]);
    const full = parseArgs([
        "--methods",
        "lc,lc++",
        "--variants",
        "reply+tone:witty,summarize+translate:de",
        "--n",
        "5",
    ]);
    assert.deepEqual(
        [full.methods, full.variants, full.n, full.maxTokens],
        [["lc", "lc++"], ["reply+tone:witty", "summarize+translate:de"], 5, 128],
    );
    assert.throws(() => parseArgs(["--variants", "summarize"]), /not one of the 14/);
    assert.throws(() => parseArgs(["--methods", "ties"]), /Unknown method/);
});
