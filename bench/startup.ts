// From start to the first token, the way the editor does it: the extension starts the engine
// process once VS Code has started (activation "onStartupFinished"), and the user then asks for a
// composite. Timed from the moment the process is started, with the engine's default settings and
// the installed pack, in three starts that share one fresh cache folder:
//   1. the first start after installing, asking at once: the request waits for the process and
//      the model, and runs beside the background preparation, which makes every fused LoRA;
//   2. a later start, asking at once (the fused LoRAs are on disk);
//   3. a later start, asking once the engine has prepared (a user who opens a file first).
// VS Code's own start before the extension activates is not included: it is the editor's.

import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import type {ComposeResult} from "../engine/compose/composer";
import {type ChainKey, parseTaskChain} from "../engine/compose/taskChain";
import {engineConfig, installedPack} from "../engine/config";
import {EngineClient} from "../engine/isolation/engineClient";
import {cachePaths} from "../engine/model/paths";
import type {Progress} from "./progress";

export const STARTUP_CHAIN = "summarize+translate:fr" as ChainKey;

export interface StartupOptions {
    readonly root: string;
    readonly modelPath: string;
    readonly input: string;
    readonly threads: number;
}

export interface StartupRun {
    readonly start: "first" | "later";
    readonly asks: "at once" | "after preparation";
    /** From starting the process to the engine answering its first status (model open). */
    readonly readyMs: number | null;
    /** From starting the process to the first generated token (prompt read, context made). */
    readonly firstTokenMs: number;
    /** From the request to its first token. */
    readonly requestToFirstTokenMs: number;
    /** The preparation's work when it was waited for (run 3), else null. */
    readonly preparationMs: number | null;
    readonly method: string;
}

export interface StartupResults {
    readonly chain: string;
    readonly inputWords: number;
    readonly threads: number;
    readonly runs: readonly StartupRun[];
}

/** When the first token came: the answer's end minus the decoding after it (one generation). */
function firstTokenAt(result: ComposeResult, answeredAt: number): number {
    const decodeMs = result.passes.reduce((sum, pass) => sum + pass.generation.decodeMs, 0);
    return answeredAt - decodeMs;
}

export async function runStartup(options: StartupOptions, progress: Progress): Promise<StartupResults> {
    const home = await mkdtemp(join(tmpdir(), "composer-bench-startup-"));
    const config = engineConfig(options.modelPath, installedPack(options.root, cachePaths(home)), {
        threads: options.threads,
    });
    const request = {chain: parseTaskChain(STARTUP_CHAIN), method: "auto" as const, input: options.input};
    const plan: readonly Pick<StartupRun, "start" | "asks">[] = [
        {start: "first", asks: "at once"},
        {start: "later", asks: "at once"},
        {start: "later", asks: "after preparation"},
    ];
    const runs: StartupRun[] = [];
    progress.start("start to first token", plan.length);
    try {
        for (const {start, asks} of plan) {
            const started = performance.now();
            const client = new EngineClient({hostScript: join(options.root, "dist", "engine-host.js"), config});
            try {
                let readyMs: number | null = null;
                let preparationMs: number | null = null;
                if (asks === "after preparation") {
                    await client.status();
                    readyMs = performance.now() - started;
                    const report = await client.preparation();
                    preparationMs = report?.steps.reduce((sum, step) => sum + step.ms, 0) ?? null;
                }
                const asked = performance.now();
                const result = await client.compose(request);
                const firstToken = firstTokenAt(result, performance.now());
                runs.push({
                    start,
                    asks,
                    readyMs,
                    firstTokenMs: firstToken - started,
                    requestToFirstTokenMs: firstToken - asked,
                    preparationMs,
                    method: result.method,
                });
                progress.tick(
                    `${start} start, asks ${asks}: first token ${((firstToken - started) / 1000).toFixed(2)} s`,
                );
                // The next start finds what this one prepared (every fused LoRA on disk).
                if (asks === "at once") await client.preparation();
            } finally {
                await client.dispose();
            }
        }
    } finally {
        progress.done();
        await rm(home, {recursive: true, force: true});
    }
    return {
        chain: STARTUP_CHAIN,
        inputWords: options.input.split(/\s+/).filter((word) => word.length > 0).length,
        threads: options.threads,
        runs,
    };
}
