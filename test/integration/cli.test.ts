// The `composer` command line as a user runs it: a separate process, a private cache root.

import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import {existsSync} from "node:fs";
import {copyFile, link, mkdir, mkdtemp, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {promisify} from "node:util";
import {craftAdapter} from "../../craft/gguf";
import {readGgufHeader} from "../../engine/gguf";
import {DEFAULT_MODEL} from "../../engine/model/catalog";
import {describeBaseModel} from "../../engine/model/fingerprint";
import {realModelPath, repoRoot} from "../support/realModel";
import {actionItems} from "../support/texts";

const run = promisify(execFile);

describe("the composer command line", () => {
    let home: string;
    let env: NodeJS.ProcessEnv;
    let cli: (...args: string[]) => Promise<{code: number; stdout: string; stderr: string}>;

    before(async () => {
        home = await mkdtemp(join(tmpdir(), "composer-cli-"));
        env = {...process.env, COMPOSER_HOME: home, COMPOSER_MODEL: await realModelPath()};
        const script = join(repoRoot(), "dist", "cli.js");
        cli = async (...args) => {
            try {
                const {stdout, stderr} = await run(process.execPath, [script, ...args], {env});
                return {code: 0, stdout, stderr};
            } catch (error) {
                const failed = error as {code: number; stdout: string; stderr: string};
                return {code: failed.code, stdout: failed.stdout, stderr: failed.stderr};
            }
        };
    });

    after(async () => {
        if (home) await rm(home, {recursive: true, force: true});
    });

    test("installs, lists, verifies and removes an adapter", async () => {
        const base = describeBaseModel(await readGgufHeader(env.COMPOSER_MODEL as string));
        const source = await craftAdapter(join(home, "source", "casual"), base, {
            id: "my.casual",
            task: "tone:casual",
            rank: 16,
        });
        const installed = await cli("adapters", "install", source.dir);
        assert.equal(installed.code, 0, installed.stderr);
        assert.match(installed.stdout, /Installed my\.casual \(tone:casual\)/);
        const listed = await cli("adapters", "list");
        assert.match(listed.stdout, /my\.casual {2}tone:casual {2}rank 16 {2}\(user\)/);
        assert.match((await cli("adapters", "verify", "my.casual")).stdout, /ok\s+my\.casual/);
        assert.equal((await cli("adapters", "remove", "my.casual")).code, 0);
        assert.doesNotMatch((await cli("adapters", "list")).stdout, /my\.casual/);
    });

    test("refuses a corrupt adapter with the specific reason and installs nothing", async () => {
        const base = describeBaseModel(await readGgufHeader(env.COMPOSER_MODEL as string));
        const source = await craftAdapter(join(home, "source", "bad"), base, {id: "bad.one", task: "reply", rank: 16});
        await writeFile(source.ggufPath, "GGUF but not really");
        const result = await cli("adapters", "install", source.dir);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /sha256/i, result.stderr);
        assert.doesNotMatch((await cli("adapters", "list")).stdout, /bad\.one/);
    });

    test("compose --json reports text, method, recipe, tokens and timings", async () => {
        const result = await cli(
            "compose",
            "--chain",
            "summarize,translate:fr",
            "--text",
            "Anna: the train is late. Ben: then let's meet at nine.",
            "--method",
            "zero-shot",
            "--max-tokens",
            "4",
            "--json",
        );
        assert.equal(result.code, 0, result.stderr);
        const parsed = JSON.parse(result.stdout);
        assert.equal(parsed.method, "zero-shot");
        assert.equal(parsed.chain, "summarize+translate:fr");
        // Four tokens cannot finish a summary: the result says it was cut.
        assert.deepEqual(parsed.notes, ["The answer reached the 4-token limit and may be cut short."]);
        assert.equal(parsed.cutAtBudget, true);
        assert.equal(parsed.passes[0].generation.stopReason, "max-tokens");
        assert.equal(parsed.passes.length, 1);
        assert.equal(typeof parsed.text, "string");
        assert.equal(parsed.passes[0].generation.generatedTokens, 4);
        assert.ok(parsed.passes[0].generation.promptTokens > 10);
        assert.ok(parsed.totalMs > 0);
    });

    test("a pipe gets the final answer; --stream shows the first try, then the answer", async () => {
        // A part whose summary fills its budget streams, then is summarized again in halves.
        const file = join(home, "action-items.txt");
        await writeFile(file, actionItems(200));
        const args = ["compose", "--chain", "summarize", "--file", file, "--threads", "2"];
        const [plain, streamed, json] = [
            await cli(...args),
            await cli(...args, "--stream"),
            await cli(...args, "--json"),
        ];
        assert.equal(plain.code, 0, plain.stderr);
        assert.equal(streamed.code, 0, streamed.stderr);
        const parsed = JSON.parse(json.stdout) as {text: string; notes: string[]};
        assert.ok(
            parsed.notes.some((note) => note.includes("summarized again in halves")),
            parsed.notes.join("; "),
        );
        assert.equal(plain.stdout.trim(), parsed.text.trim());
        assert.match(streamed.stderr, /part of the text above was written again/);
        assert.ok(streamed.stdout.trim().endsWith(parsed.text.trim()), streamed.stdout);
        assert.ok(streamed.stdout.length > parsed.text.length, "the first try was shown before the answer");
    });

    test("limits out of range are refused with the option's own name", async () => {
        const tooMany = await cli("compose", "--chain", "summarize", "--text", "Hello there.", "--max-tokens", "5000");
        assert.equal(tooMany.code, 1);
        assert.match(tooMany.stderr, /--max-tokens must be a whole number from 1 to 4096, got "5000"/);
        const tiny = await cli("compose", "--chain", "summarize", "--text", "Hello there.", "--context-size", "8");
        assert.equal(tiny.code, 1);
        assert.match(tiny.stderr, /--context-size must be a whole number from 256 to 32768, got "8"/);
    });

    test("an empty text is refused with a clear message", async () => {
        const empty = await cli("compose", "--chain", "summarize", "--text", "  \n ");
        assert.equal(empty.code, 1);
        assert.match(empty.stderr, /The text is empty \(or only whitespace\)/);
    });

    // The trained pack the lab ships (adapters/, calibrations/), when it is there.
    const packCalibration = join(repoRoot(), "calibrations", "e1ca81aad5d9", "summarize+translate-fr.lcpp.gguf");
    const packPresent =
        existsSync(join(repoRoot(), "adapters", "gemma3-270m.summarize", "manifest.json")) &&
        existsSync(join(repoRoot(), "adapters", "gemma3-270m.translate-fr", "manifest.json")) &&
        existsSync(packCalibration);
    test(
        "the bundled trained pack verifies, and auto runs summarize -> French as one LC++ pass",
        {skip: packPresent ? false : "no trained pack in adapters/ and calibrations/"},
        async () => {
            const adapters = await cli("adapters", "verify");
            assert.equal(adapters.code, 0, adapters.stderr);
            assert.match(adapters.stdout, /gemma3-270m\.summarize/);
            assert.match(adapters.stdout, /gemma3-270m\.translate-fr/);
            const calibrations = await cli("calibrations", "verify");
            assert.equal(calibrations.code, 0, calibrations.stderr);
            assert.match(calibrations.stdout, /summarize\+translate-fr\.lcpp\.gguf/);
            const result = await cli(
                "compose",
                "--chain",
                "summarize,translate:fr",
                "--text",
                "#Person1#: Are you coming to the meeting on Thursday?\n#Person2#: No, my flight was moved.",
                "--max-tokens",
                "8",
                "--json",
            );
            assert.equal(result.code, 0, result.stderr);
            const parsed = JSON.parse(result.stdout);
            assert.equal(parsed.method, "lc++");
            assert.equal(parsed.passes.length, 1);
            assert.deepEqual(
                parsed.passes[0].adapters.map((a: {id: string}) => a.id),
                ["gemma3-270m.summarize", "gemma3-270m.translate-fr"],
            );
            assert.match(parsed.passes[0].calibration ?? "", /summarize\+translate-fr\.lcpp\.gguf$/);
        },
    );

    test("chains says how each chain runs: the bundled calibrations in one pass, others and why", async () => {
        const listed = await cli("chains", "--json");
        assert.equal(listed.code, 0, listed.stderr);
        const byChain = new Map(
            (JSON.parse(listed.stdout) as {chain: string; method: string; passes: number; onePass: boolean}[]).map(
                (c) => [c.chain, c],
            ),
        );
        assert.equal(byChain.size, 191, "every chain a user can build");
        assert.deepEqual(
            [byChain.get("summarize+translate:fr")?.method, byChain.get("summarize+translate:fr")?.onePass],
            ["lc++", true],
        );
        const one = await cli("chains", "reply,tone:professional,translate:fr");
        assert.equal(one.code, 0, one.stderr);
        assert.match(one.stdout, /^reply\+tone:professional\+translate:fr {2}3 passes \(multi-step\): No calibration/);
        const onePass = await cli("chains", "--one-pass");
        assert.ok(
            onePass.stdout
                .trim()
                .split("\n")
                .every((line) => / one pass \(/.test(line)),
            onePass.stdout,
        );
    });

    test("the derived Q8_0 base model by its id: listed, explained while its download is missing, made on first use, runs the pack", async () => {
        const q8 = "gemma-3-270m-q4_k_m.q8_0";
        const listed = await cli("models", "list");
        assert.equal(listed.code, 0, listed.stderr);
        assert.match(
            listed.stdout,
            /^gemma-3-270m-q4_k_m \(default\): Gemma 3 270M \(base, Q4_K_M\)\n {2}not downloaded/m,
        );
        assert.match(
            listed.stdout,
            /^gemma-3-270m-q4_k_m\.q8_0: .*Q8_0\)\n {2}not downloaded or made yet\n {2}made from gemma-3-270m-q4_k_m/m,
        );
        const compose = () =>
            cli(
                "compose",
                "--model",
                q8,
                "--chain",
                "summarize,translate:fr",
                "--text",
                "#Person1#: Are you coming to the meeting on Thursday?\n#Person2#: No, my flight was moved.",
                "--max-tokens",
                "4",
                "--json",
            );
        const missing = await compose();
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /not downloaded yet\. Run "composer models fetch gemma-3-270m-q4_k_m\.q8_0"/);
        // The pinned download in this cache (a link to the real one): the first use makes the Q8_0 file.
        const models = join(home, "models");
        await mkdir(models, {recursive: true});
        const real = await realModelPath();
        await link(real, join(models, DEFAULT_MODEL.fileName)).catch(() =>
            copyFile(real, join(models, DEFAULT_MODEL.fileName)),
        );
        const made = await compose();
        assert.equal(made.code, 0, made.stderr);
        assert.match(made.stderr, /derive 0\/1\nderive 1\/1\n/);
        const parsed = JSON.parse(made.stdout);
        // Same structure as the download: the bundled calibration for this chain applies.
        assert.equal(parsed.method, "lc++");
        assert.equal(parsed.passes[0].generation.generatedTokens, 4);
        const listedAfter = (await cli("models", "list")).stdout;
        assert.ok(listedAfter.includes(`\n  ${join(models, `${q8}.gguf`)}\n`), listedAfter);
        const again = await compose();
        assert.equal(again.code, 0, again.stderr);
        assert.doesNotMatch(again.stderr, /derive/, "made once, then reused");
    });

    test("an unknown task is a usage error that names it", async () => {
        const result = await cli("compose", "--chain", "summarize,translate:it", "--text", "x");
        assert.equal(result.code, 1);
        assert.match(result.stderr, /Unknown task "translate:it"/);
    });
});
