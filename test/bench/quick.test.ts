// The benchmark's quick mode end to end on the real default model: a crafted pack, one short
// input per variant, every method the engine offers, every metric (ROUGE-L, weighted ROUGE,
// chrF, language ID), the real-text section (3 commands x 2 inputs, judged), the speed phase,
// the memory section (8 concurrent requests instead of 20),
// the report files, and a resumed run served from the cache. Checks that everything runs, not the scores. Runs after the lab's setup stage (it
// needs lab/.venv for scoring).

import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import type {StartupRun} from "../../bench/startup";
import {METHODS} from "../../engine/compose/methods";
import {repoRoot} from "../support/realModel";

const root = repoRoot();
let work: string;

function bench(args: string[]) {
    const run = spawnSync("node", [join(root, "dist", "bench.js"), ...args], {
        cwd: root,
        encoding: "utf8",
        // A guard against a hang, not a speed limit: from an empty home the quick bench took 180 s
        // on the AMX Xeon and ran past 240 s on the AMD EPYC (PyTorch's peer loads the model cold).
        timeout: 900_000,
    });
    assert.equal(run.status, 0, `bench exited with ${run.status}:\n${run.stderr.slice(-3000)}`);
    return run;
}

before(async () => {
    work = await mkdtemp(join(tmpdir(), "bench-quick-"));
    // Fixture composite references for the quick inputs, so the ROUGE metrics run too (the real
    // ones come from the lab's teacher; these are test data, never reported as results).
    const python = join(root, "lab", ".venv", "bin", "python");
    const exported = spawnSync(
        python,
        ["-m", "lab.eval.data", "--n", "1", "--shortest", "--variants", "summarize+translate:fr,reply+translate:de"],
        {cwd: join(root, "lab"), encoding: "utf8"},
    );
    assert.equal(exported.status, 0, exported.stderr);
    const evalSet = JSON.parse(exported.stdout) as {variants: Record<string, {examples: {id: string}[]}>};
    await mkdir(join(work, "targets"));
    const fixture: Record<string, [string, string]> = {
        "summarize+translate:fr": ["summarize+translate-fr", "Un test: ils parlent d'un rendez-vous."],
        "reply+translate:de": ["reply+translate-de", "Ein Test: Hallo, wie geht es dir?"],
    };
    for (const [variant, [file, target]] of Object.entries(fixture)) {
        const lines = (evalSet.variants[variant]?.examples ?? []).map((e) => JSON.stringify({id: e.id, target}));
        await writeFile(join(work, "targets", `${file}.jsonl`), `${lines.join("\n")}\n`);
    }
});

after(async () => {
    if (work) await rm(work, {recursive: true, force: true});
});

test("bench --quick runs every method and metric and writes the report", async () => {
    const out = join(work, "results");
    const run = bench(["--quick", "--out", out, "--targets-dir", join(work, "targets")]);
    assert.match(run.stderr, /\[quality 1\/\d+\]/, "progress is shown");
    const [dated] = (await readdir(out)).filter((name) => name !== "cache");
    assert.ok(dated !== undefined, "a dated report folder");
    const dir = join(out, dated);
    for (const file of ["report.md", "results.json", "quality.png", "latency.png"]) {
        const bytes = await readFile(join(dir, file));
        assert.ok(bytes.length > 0, `${file} written`);
        if (file.endsWith(".png")) assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    }
    const results = JSON.parse(await readFile(join(dir, "results.json"), "utf8"));
    const sumFr = results.quality.variants["summarize+translate:fr"];
    assert.deepEqual(Object.keys(sumFr).sort(), [...METHODS].sort(), "all 8 methods ran on summarize+translate:fr");
    for (const [variant, methods] of Object.entries(results.quality.variants) as [
        string,
        Record<
            string,
            {
                errors: number;
                main: number | null;
                language_accuracy: number | null;
                looping: number | null;
                chrf: number | null;
            }
        >,
    ][]) {
        for (const [method, cell] of Object.entries(methods)) {
            assert.equal(cell.errors, 0, `${variant} ${method} generated`);
            assert.equal(typeof cell.main, "number", `${variant} ${method}: ROUGE scored`);
            assert.equal(typeof cell.language_accuracy, "number", `${variant} ${method}: language scored`);
            assert.equal(typeof cell.looping, "number", `${variant} ${method}: looping checked`);
            if (variant === "reply+translate:de") assert.equal(typeof cell.chrf, "number", `${method}: chrF scored`);
        }
    }
    assert.equal(results.efficiency.rows.length, METHODS.length);
    assert.equal(results.efficiency.jointExpertParams, 3_796_992, "a rank-16 joint expert on Gemma 3 270M");
    for (const ratio of results.speed.ratios) assert.ok(Number.isFinite(ratio.pairedMedian), ratio.name);
    assert.ok(results.speed.memory.peakRssMb > 0);
    // From start to the first token: three starts of the engine process, every one answered.
    assert.deepEqual(
        results.startup?.runs.map((run: StartupRun) => [run.start, run.asks]),
        [
            ["first", "at once"],
            ["later", "at once"],
            ["later", "after preparation"],
        ],
    );
    for (const run of (results.startup?.runs ?? []) as StartupRun[])
        assert.ok(run.firstTokenMs > run.requestToFirstTokenMs && run.requestToFirstTokenMs > 0);
    // The first use after start: an engine that prepared both composites in the background.
    const afterStart = results.speed.switching.afterStart;
    assert.ok(afterStart !== undefined, "the first use after start was measured");
    assert.ok(afterStart.preparation.steps >= 2, "the engine prepared its context shapes and composites");
    assert.equal(afterStart.firstUseMs.n, 2);
    assert.ok(Number.isFinite(afterStart.overWarmMs));
    // The memory section: the engine process with four composites warm, then concurrent requests
    // over more mixes than fit, every one finished and the pool within its budget.
    assert.ok(results.memory.basePackMb > 0 && results.memory.warm.rssMb > results.memory.basePackMb);
    assert.equal(results.memory.warm.allWarm, true, "the four composites stay warm in the default budget");
    assert.deepEqual(results.memory.concurrent.failed, []);
    assert.ok(results.memory.concurrent.pool.peakResidentBytes <= results.memory.concurrent.pool.budgetBytes);
    assert.equal(results.config.model.fingerprint.length, 64);
    // The PyTorch peer generated the same composite and both sides were timed.
    assert.equal(results.peer.inputs, 1);
    for (const side of [results.peer.engine, results.peer.pytorch]) {
        assert.ok(side.generatedTokens.median >= 1, "both sides generated");
        assert.ok(side.promptTokPerS.median > 0);
    }
    assert.ok(results.peer.ratios.perGeneratedToken > 0);
    // Formality: CoCoA-MT German, both registers asked, every cell scored against both human references.
    const formality = results.formality as {
        segments: {de: number};
        cells: {
            chain: string;
            method: string;
            sameAs: string[];
            n: number;
            errors: number;
            chrfFormal: number;
            chrfInformal: number;
            labels: Record<string, number>;
        }[];
    };
    assert.equal(formality.segments.de, 1);
    assert.deepEqual(
        [...new Set(formality.cells.map((c) => c.chain))],
        ["translate:de", "tone:professional+translate:de", "tone:casual+translate:de"],
    );
    assert.deepEqual(
        formality.cells.filter((c) => c.chain === "translate:de").map((c) => [c.method, ...c.sameAs]),
        [["zero-shot"], ["aux-lora", "linear-merge", "multi-step"]],
        "a one-task chain runs each distinct recipe once",
    );
    for (const c of formality.cells) {
        assert.equal(c.errors, 0, `${c.chain} ${c.method} generated`);
        assert.equal(c.n, 1);
        assert.ok(Number.isFinite(c.chrfFormal) && Number.isFinite(c.chrfInformal), `${c.chain} ${c.method}: chrF`);
        assert.equal(
            Object.values(c.labels).reduce((a, b) => a + b, 0),
            1,
            "one register label per output",
        );
    }
    // translate:de alone on NTREX news: scored against the human translation.
    const news = results.news as {sentences: {de: number}; cells: {method: string; n: number; chrf: number}[]};
    assert.equal(news.sentences.de, 1);
    assert.deepEqual(
        news.cells.map((c) => c.method),
        ["zero-shot", "aux-lora"],
    );
    for (const c of news.cells) assert.ok(c.n === 1 && Number.isFinite(c.chrf), `news ${c.method}: chrF`);
    // Real text: 3 commands x 2 short inputs (an email, a customer message), each output judged.
    const realText = results.realText as {
        cells: {command: string; genre: string; n: number; broken: number; reasons: Record<string, number>}[];
        totals: {overall: {n: number; broken: number}; byGenre: Record<string, {n: number}>};
        engine: {maxTokens: number};
        outputs: {
            command: string;
            id: string;
            stops: {stopReason: string; generatedTokens: number}[];
            findings: {reason: string}[];
        }[];
    };
    assert.deepEqual(
        realText.cells.map((c) => `${c.command} ${c.genre} ${c.n}`),
        [
            "summarize email 1",
            "summarize customer 1",
            "translate:de email 1",
            "translate:de customer 1",
            "reply+tone:professional+translate:de email 1",
            "reply+tone:professional+translate:de customer 1",
        ],
    );
    for (const c of realText.cells) {
        const counted = Object.values(c.reasons).reduce((a, b) => a + b, 0);
        assert.ok(c.broken <= c.n && (c.broken === 0) === (counted === 0), `${c.command} ${c.genre}: counts agree`);
    }
    assert.equal(realText.totals.overall.n, 6);
    assert.deepEqual(Object.keys(realText.totals.byGenre).sort(), ["customer", "email"]);
    // An output that used the whole budget (the quick engine's 4 tokens) is reported as cut, and only then.
    const budget = realText.engine.maxTokens;
    const full = (o: (typeof realText.outputs)[number]) => o.stops.some((s) => s.generatedTokens >= budget);
    assert.ok(realText.outputs.some(full), "some output reached the budget");
    for (const o of realText.outputs)
        assert.equal(
            o.findings.some((f) => f.reason === "cut"),
            full(o),
            `${o.command} ${o.id}`,
        );
    // The real work timed: one pass and two passes on the same email, both streamed and timed.
    const timedWork = results.work as {
        items: {
            item: {chain: string};
            inputs: {words: number}[];
            sides: {
                method: string;
                runs: {ranAs: string; firstTextMs: number; totalMs: number; generations: number}[];
            }[];
            ratios: Record<string, {total: number}>;
        }[];
    };
    assert.deepEqual(
        timedWork.items.map((i) => i.item.chain),
        ["summarize+translate:fr"],
    );
    const [summaryToFrench] = timedWork.items;
    assert.deepEqual(
        summaryToFrench?.sides.map((s) => s.method),
        ["auto", "multi-step"],
    );
    for (const side of summaryToFrench?.sides ?? [])
        for (const run of side.runs) assert.ok(run.firstTextMs > 0 && run.firstTextMs <= run.totalMs, side.method);
    assert.equal(summaryToFrench?.sides[1]?.runs[0]?.generations, 2, "multi-step runs two passes");
    assert.ok((summaryToFrench?.ratios["multi-step"]?.total ?? 0) > 0);
    const report = await readFile(join(dir, "report.md"), "utf8");
    for (const heading of [
        "## Quality",
        "## Formality",
        "## Translation adapters on human news",
        "## Real text",
        "### Broken outputs per command and genre",
        "## Efficiency",
        "## Speed",
        "## Memory",
        "## Peer",
        "## The real work, timed",
        "### Example outputs",
    ])
        assert.ok(report.includes(heading), heading);

    // Interrupted or repeated: every generation comes from the cache.
    const again = bench([
        "--quick",
        "--no-speed",
        "--no-memory",
        "--no-peer",
        "--out",
        out,
        "--targets-dir",
        join(work, "targets"),
    ]);
    assert.match(again.stderr, /already in the cache/);
    assert.match(again.stderr, /\[quality\] done: 0 new/);
    assert.match(again.stderr, /\[formality\] done: 0 new/);
    assert.match(again.stderr, /\[news\] done: 0 new/);
    assert.match(again.stderr, /\[real-text\] done: 0 new/);
});
