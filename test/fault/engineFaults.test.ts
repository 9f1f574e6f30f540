// Engine faults on the real default model: the engine process is killed (SIGKILL) or stopped
// (SIGSTOP) while it starts, while it reads a long prompt and while it generates. Each time the
// caller gets a clear error within a bounded time, the process is gone, and the next request
// works. Then the same through the command line: Ctrl-C on a hung engine, a second Ctrl-C, and
// the caller dying, none of which may leave an engine process behind.

import assert from "node:assert/strict";
import {type ChildProcess, spawn} from "node:child_process";
import {mkdir, mkdtemp, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {setTimeout as delay} from "node:timers/promises";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../engine/config";
import type {EngineConfig} from "../../engine/engine";
import {
    type ComposeCall,
    EngineClient,
    EngineCrashedError,
    EngineUnresponsiveError,
    type LivenessBounds,
} from "../../engine/isolation/engineClient";
import {childPids, gone, isAlive, timed} from "../support/processes";
import {realModelPath, repoRoot} from "../support/realModel";

const INPUT =
    "#Person1#: Are you coming to the meeting on Thursday?\n#Person2#: No, my flight was moved. I will send the numbers tonight.";
/** About 600 prompt tokens: two batches of 512, so there is a "reading" phase to hit. */
const LONG_INPUT = Array.from({length: 16}, () => INPUT).join("\n");
const chain = parseTaskChain("summarize");
/** Test bounds: the heartbeat (1 s) lagged at most 1.9 s here at load 10; stalls are not provoked here. */
const LIVENESS: LivenessBounds = {silenceMs: 6000, stallMs: 120_000, cancelMs: 20_000};
/** How long after its bound an error may come on a loaded 2-core machine. */
const SLACK_MS = 4000;

type Fault = "SIGKILL" | "SIGSTOP";
type Phase = "start-up" | "prompt reading" | "generation";

/** What each fault did, for test-results/fault/engine-faults.json. */
const report: Record<string, unknown>[] = [];

after(async () => {
    await mkdir(join(repoRoot(), "test-results", "fault"), {recursive: true});
    await writeFile(
        join(repoRoot(), "test-results", "fault", "engine-faults.json"),
        `${JSON.stringify(report, null, 2)}\n`,
    );
});

describe("engine faults on the real model", () => {
    let work: string;
    let config: EngineConfig;
    let client: EngineClient;
    let baseline: string;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "composer-fault-"));
        config = engineConfig(await realModelPath(), packIn(work), {threads: 1});
        client = newClient();
        baseline = (await client.compose({chain, method: "zero-shot", input: INPUT, maxTokens: 4})).text;
        assert.ok(baseline.length > 0);
    });

    after(async () => {
        await client?.dispose();
        if (work) await rm(work, {recursive: true, force: true});
    });

    const newClient = () =>
        new EngineClient({hostScript: join(repoRoot(), "dist", "engine-host.js"), config, liveness: LIVENESS});

    /** Starts a request and hits the engine with `fault` once the request is in `phase`. */
    async function faultDuring(fault: Fault, phase: Phase) {
        // A fresh engine for start-up; otherwise the one the previous request left running.
        if (phase === "start-up") {
            await client.dispose();
            client = newClient();
        }
        let pid = -1;
        let hitAt = 0;
        const hit = () => {
            if (hitAt !== 0) return;
            hitAt = Date.now();
            process.kill(pid, fault);
        };
        const call: ComposeCall = {
            chain,
            method: "zero-shot",
            input: phase === "prompt reading" ? LONG_INPUT : INPUT,
            maxTokens: 200,
            ...(phase === "prompt reading" ? {onPrompt: hit} : {}),
            ...(phase === "generation" ? {onText: hit} : {}),
        };
        const request = client.compose(call);
        pid = client.pid ?? -1;
        if (phase === "start-up") {
            // The host is loading the model (opening takes seconds; node starts in ~0.1 s).
            await delay(300);
            hit();
        }
        const {error} = await timed(request);
        const msToError = Date.now() - hitAt;
        assert.ok(hitAt > 0, `the request reached ${phase}`);
        if (fault === "SIGKILL") {
            assert.ok(error instanceof EngineCrashedError, String(error));
            assert.match(error.message, /engine process stopped \(signal SIGKILL\).*next request starts a new engine/);
            assert.ok(msToError < SLACK_MS, `error after ${msToError} ms`);
        } else {
            assert.ok(error instanceof EngineUnresponsiveError, String(error));
            assert.match(error.message, /engine stopped responding \(no sign of life for \d+\.\d s\)/);
            assert.ok(msToError < LIVENESS.silenceMs + SLACK_MS, `error after ${msToError} ms`);
        }
        assert.ok(await gone(pid), "the faulty engine process is gone");
        const next = await timed(client.compose({chain, method: "zero-shot", input: INPUT, maxTokens: 4}));
        assert.equal(next.error, null, String(next.error));
        assert.equal(next.value?.text, baseline, "the next request answers as before (greedy, no adapters)");
        assert.ok(client.pid !== undefined && client.pid !== pid, "a new engine runs");
        report.push({fault, phase, msToError, error: error.message, nextRequestMs: next.ms});
    }

    for (const fault of ["SIGKILL", "SIGSTOP"] as const)
        for (const phase of ["start-up", "prompt reading", "generation"] as const)
            test(`${fault} during ${phase}: a clear error in bounded time, then the next request works`, () =>
                faultDuring(fault, phase));

    test("a cancel on a stopped engine ends the request at once, and the engine is killed", async () => {
        await client.status();
        const pid = client.pid ?? -1;
        const controller = new AbortController();
        let stoppedAt = 0;
        const request = client.compose({
            chain,
            method: "zero-shot",
            input: INPUT,
            maxTokens: 200,
            signal: controller.signal,
            onText: () => {
                if (stoppedAt !== 0) return;
                stoppedAt = Date.now();
                process.kill(pid, "SIGSTOP");
                setTimeout(() => controller.abort(), 200);
            },
        });
        const {error} = await timed(request);
        const msAfterCancel = Date.now() - stoppedAt - 200;
        assert.equal(error?.name, "ComposeCancelledError");
        assert.ok(msAfterCancel < 500, `the cancelled request ended ${msAfterCancel} ms after the cancel`);
        // The stopped engine says nothing at all: the silence bound ends it first.
        assert.ok(await gone(pid, LIVENESS.silenceMs + SLACK_MS), "the hung engine was killed");
        assert.equal((await client.compose({chain, method: "zero-shot", input: INPUT, maxTokens: 4})).text, baseline);
        report.push({fault: "SIGSTOP then cancel", msAfterCancel});
    });
});

describe("the command line never leaves an engine behind", () => {
    let home: string;
    let env: NodeJS.ProcessEnv;

    before(async () => {
        home = await mkdtemp(join(tmpdir(), "composer-fault-cli-"));
        env = {...process.env, COMPOSER_HOME: home, COMPOSER_MODEL: await realModelPath()};
    });

    after(async () => {
        if (home) await rm(home, {recursive: true, force: true});
    });

    interface Running {
        readonly cli: ChildProcess;
        readonly engine: number;
        readonly exit: Promise<{code: number | null; signal: string | null; stderr: string}>;
    }

    /** Starts `composer compose` and waits until its engine streams text. */
    async function composing(): Promise<Running> {
        const cli = spawn(
            process.execPath,
            [
                join(repoRoot(), "dist", "cli.js"),
                "compose",
                "--chain",
                "summarize",
                "--method",
                "zero-shot",
                "--text",
                INPUT,
                "--max-tokens",
                "400",
                "--threads",
                "1",
                // Its first streamed text says generation has begun (a pipe gets only the end).
                "--stream",
            ],
            {env, stdio: ["ignore", "pipe", "pipe"]},
        );
        let stderr = "";
        cli.stderr?.on("data", (chunk: Buffer) => {
            stderr += chunk.toString("utf8");
        });
        const exit = new Promise<{code: number | null; signal: string | null; stderr: string}>((resolve) =>
            cli.once("exit", (code, signal) => resolve({code, signal, stderr})),
        );
        await new Promise<void>((resolve, reject) => {
            cli.stdout?.once("data", () => resolve());
            void exit.then((e) => reject(new Error(`the CLI exited before generating: ${e.stderr}`)));
        });
        const [engine] = childPids(cli.pid ?? -1);
        assert.ok(engine !== undefined && isAlive(engine), "the CLI runs its engine in a child process");
        return {cli, engine, exit};
    }

    test("Ctrl-C on a hung engine ends the command within seconds and stops the engine", async () => {
        const {cli, engine, exit} = await composing();
        process.kill(engine, "SIGSTOP");
        const interruptedAt = Date.now();
        cli.kill("SIGINT");
        const {code, stderr} = await exit;
        const ms = Date.now() - interruptedAt;
        assert.equal(code, 1);
        assert.match(stderr, /error: Composition was cancelled/);
        assert.ok(ms < 3000 + SLACK_MS, `the command ended ${ms} ms after Ctrl-C`);
        assert.ok(await gone(engine), "no engine is left behind");
        report.push({fault: "CLI Ctrl-C, engine stopped", msToExit: ms});
    });

    test("a second Ctrl-C ends the command at once and kills the engine", async () => {
        const {cli, engine, exit} = await composing();
        process.kill(engine, "SIGSTOP");
        const interruptedAt = Date.now();
        cli.kill("SIGINT");
        await delay(100);
        cli.kill("SIGINT");
        const {code} = await exit;
        const ms = Date.now() - interruptedAt;
        assert.equal(code, 130);
        assert.ok(ms < 100 + SLACK_MS, `the command ended ${ms} ms after the first Ctrl-C`);
        assert.ok(await gone(engine), "no engine is left behind");
        report.push({fault: "CLI Ctrl-C twice, engine stopped", msToExit: ms});
    });

    test("an engine whose caller dies mid-generation exits by itself", async () => {
        const {cli, engine, exit} = await composing();
        cli.kill("SIGKILL");
        await exit;
        const killedAt = Date.now();
        assert.ok(await gone(engine, 5000), "the orphaned engine exited");
        report.push({fault: "caller SIGKILL mid-generation", engineExitMs: Date.now() - killedAt});
    });
});
