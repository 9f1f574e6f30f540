// Speed, measured in one run on the same inputs with the real default model and a pack of real
// shapes: one-pass LC / LC++ latency vs multi-step, decode speed of a calibrated composite vs a
// single task LoRA, the engine's fused form of a multi-LoRA pass vs the same LoRAs loaded
// separately, switching composites with a warm context pool vs cold contexts, and peak RSS.
// Every request goes through Engine.compose.

import {readFileSync} from "node:fs";
import {loadavg} from "node:os";
import {join} from "node:path";
import {setTimeout as delay} from "node:timers/promises";
import {fusedMixFileName} from "../engine/calibrations/fusedMix";
import type {ComposeResult, LoraForm} from "../engine/compose/composer";
import type {Method} from "../engine/compose/methods";
import {buildRecipe} from "../engine/compose/recipe";
import {type ChainKey, parseTaskChain, type TaskChain} from "../engine/compose/taskChain";
import {engineConfig, packIn} from "../engine/config";
import {Engine, type EngineConfig} from "../engine/engine";
import {metaNumber, readGgufHeader} from "../engine/gguf";
import type {Progress} from "./progress";
import {rotate, type Summary, summarize} from "./stats";

export const SPEED_CHAIN = "summarize+translate:fr" as ChainKey;
export const SWITCH_CHAIN = "reply+tone:casual" as ChainKey;
/** A case of the speed run: a method in a LoRA form, under a label. */
interface SpeedCase {
    readonly label: string;
    readonly method: Method;
    readonly form: LoraForm;
}

/**
 * Every method in the engine's form (multi-LoRA passes fused), and the two multi-LoRA methods
 * once more with their LoRAs loaded separately, the form the engine used before.
 */
export const SEPARATE_SUFFIX = " separate";
const SPEED_CASES: readonly SpeedCase[] = [
    ...(["zero-shot", "main-lora", "linear-merge", "multi-step", "lc", "lc++"] as const).map(
        (method): SpeedCase => ({label: method, method, form: "fused"}),
    ),
    ...(["linear-merge", "lc++"] as const).map(
        (method): SpeedCase => ({label: `${method}${SEPARATE_SUFFIX}`, method, form: "separate"}),
    ),
];

export interface SpeedOptions {
    readonly modelPath: string;
    readonly adapterDir: string;
    readonly calibrationDir: string;
    readonly workDir: string;
    readonly inputs: readonly string[];
    readonly reps: number;
    readonly switchReps: number;
    /** One untimed round first, so timed rounds find every context warm. */
    readonly warmup: boolean;
    readonly maxTokens: number;
    readonly threads: number;
    readonly packDescription: string;
}

export interface MethodSpeed {
    readonly method: string;
    readonly samples: number;
    readonly latencyMs: Summary;
    /** Decode tokens/s of the last pass (tokens after the first / decode time). */
    readonly decodeTokPerS: Summary;
    readonly promptTokPerS: Summary;
    readonly generatedTokens: Summary;
    readonly passes: number;
    /** Context acquisition on first use (adapters loaded, calibration expanded, context created). */
    readonly firstUseContextMs: number;
}

export interface Ratio {
    readonly name: string;
    readonly goal: string;
    readonly pairedMedian: number;
    readonly pairedP25: number;
    readonly pairedP75: number;
    readonly ratioOfMedians: number;
    readonly meets: boolean;
}

export interface SpeedResults {
    readonly title: string;
    readonly chain: string;
    readonly pack: string;
    readonly inputs: number;
    readonly reps: number;
    readonly maxTokens: number;
    readonly threads: number;
    readonly methods: Record<string, MethodSpeed>;
    readonly ratios: Ratio[];
    /** LC++ fused (the engine's form) vs the same LoRAs loaded separately: same math, another float order. */
    readonly fusedVsSeparate: {
        identical: number;
        compared: number;
        rank: number;
        commonPrefix: {chars: number; of: number}[];
        firstPair: {separate: string; fused: string};
    };
    readonly switching: {
        warmMs: Summary;
        coldMs: Summary;
        /** A composite's first request in an engine that did not prepare (its fused LoRA made by the request). */
        firstUseMs: number;
        warmMeetsGoal: boolean;
        /** Absent in runs before background preparation (engine/preparation.ts). */
        afterStart?: AfterStart;
    };
    readonly memory: {
        peakRssMb: number;
        rssAfterPoolMb: number;
        contexts: number;
        loraFiles: number;
        /** The warm engine's pool: its budget (SPEED_POOL_BYTES) and what it held at the end. */
        poolBudgetMb?: number;
        poolResidentMb?: number;
    };
    readonly noise: {loadAvgStart: number[]; loadAvgEnd: number[]; note: string};
    readonly wallSeconds: number;
}

/** A fresh engine that prepared in the background (as the editor's does after it opens), then its first requests. */
export interface AfterStart {
    /** The preparation: every step's time (context shapes' estimates, composites' fused LoRAs). */
    readonly preparation: {readonly steps: number; readonly busyMs: number};
    /** Context acquisition (all its passes) of the first request for each of two composites, method auto. */
    readonly firstUseMs: Summary;
    /** The same two composites alternating afterwards, both warm, in the same engine. */
    readonly warmMs: Summary;
    /** firstUseMs - warmMs (medians). */
    readonly overWarmMs: number;
    /** Issue 17's goal for overWarmMs. */
    readonly goalMs: number;
    readonly meetsGoal: boolean;
}

/** Issue 17: the first request for a composite after start within this of a warm switch. */
export const FIRST_USE_GOAL_MS = 50;

interface Sample {
    readonly method: string;
    readonly rep: number;
    readonly input: number;
    readonly result: ComposeResult;
}

function decodeRate(result: ComposeResult): number {
    const last = result.passes.at(-1)?.generation;
    if (last === undefined || last.generatedTokens < 2 || last.decodeMs <= 0) return Number.NaN;
    return ((last.generatedTokens - 1) * 1000) / last.decodeMs;
}

function promptRate(result: ComposeResult): number {
    const first = result.passes[0]?.generation;
    return first && first.promptMs > 0 ? (first.promptTokens * 1000) / first.promptMs : Number.NaN;
}

/**
 * Each engine (warm, cold) has its own work folder, so the cold one expands its calibration
 * itself. The warm one keeps every case's context: a memory budget above what the eight cases
 * take (the memory section, bench/memory.ts, measures the default budget).
 */
function speedConfig(
    options: SpeedOptions,
    pool: {readonly maxContexts?: number; readonly contextMemoryBytes?: number},
    name: string,
): EngineConfig {
    const pack = packIn(join(options.workDir, name), {
        adapterDirs: [options.adapterDir],
        calibrationDirs: [options.calibrationDir],
    });
    return engineConfig(options.modelPath, pack, {threads: options.threads, maxTokens: options.maxTokens, ...pool});
}

/** Room for every speed case's context and LoRAs at once, so that timed runs find them warm. */
const SPEED_POOL_BYTES = 2 ** 30;

/** The rank of the fused LC++ file the engine made for `chain` (read back from its cache). */
async function fusedRank(engine: Engine, chain: ChainKey): Promise<number> {
    const [pass] = buildRecipe(parseTaskChain(chain), "lc++", engine.installed).passes;
    const mix = {
        adapters: pass.adapters.map((use) => ({
            filePath: use.adapter.filePath,
            sha256: use.adapter.sha256,
            scale: use.scale,
        })),
        calibration: pass.calibration,
    };
    const header = await readGgufHeader(join(engine.config.cacheDir, fusedMixFileName(mix, engine.base)));
    return metaNumber(header, "adapter.lora.alpha");
}

function pairedRatio(samples: readonly Sample[], num: string, den: string, value: (r: ComposeResult) => number) {
    const index = new Map(samples.map((s) => [`${s.method}|${s.rep}|${s.input}`, s.result]));
    const ratios: number[] = [];
    const a: number[] = [];
    const b: number[] = [];
    for (const s of samples) {
        if (s.method !== num) continue;
        const other = index.get(`${den}|${s.rep}|${s.input}`);
        if (other === undefined) continue;
        ratios.push(value(s.result) / value(other));
        a.push(value(s.result));
        b.push(value(other));
    }
    const paired = summarize(ratios);
    return {paired, ratioOfMedians: summarize(a).median / summarize(b).median};
}

export async function runSpeed(options: SpeedOptions, progress: Progress): Promise<SpeedResults> {
    const started = performance.now();
    const loadAvgStart = loadavg();
    const chain = parseTaskChain(SPEED_CHAIN);
    const switchChain = parseTaskChain(SWITCH_CHAIN);
    const engine = await Engine.open(speedConfig(options, {contextMemoryBytes: SPEED_POOL_BYTES}, "warm"));
    let results: SpeedResults;
    try {
        const cases = SPEED_CASES;
        const compose = (method: Method, input: string, c = chain, maxTokens = options.maxTokens, form?: LoraForm) =>
            engine.compose({chain: c, method, input, maxTokens}, form === undefined ? {} : {loraForm: form});
        const run = (c: SpeedCase, input: string) => compose(c.method, input, chain, options.maxTokens, c.form);

        // First use of each method: loads its adapters, expands calibrations, creates contexts.
        // Without a warm-up (the quick mode) the first round's context times are the first-use ones.
        const firstUse = new Map<string, number>();
        const contextMsOf = (result: ComposeResult) => result.passes.reduce((sum, p) => sum + p.contextMs, 0);
        if (options.warmup) {
            progress.start("speed warm-up", cases.length);
            for (const c of cases) {
                firstUse.set(c.label, contextMsOf(await run(c, options.inputs[0] ?? "")));
                progress.tick(`${c.label} first use`);
            }
            progress.done();
        }
        const switchFirst = await compose("lc++", options.inputs[0] ?? "", switchChain, 1);
        const switchFirstUse = switchFirst.passes[0]?.contextMs ?? Number.NaN;

        // Interleaved repetitions: every method on every input in each round, order rotated.
        const samples: Sample[] = [];
        progress.start("speed", options.reps * options.inputs.length * cases.length);
        for (let rep = 0; rep < options.reps; rep++)
            for (const [i, input] of options.inputs.entries())
                for (const c of rotate(cases, rep * options.inputs.length + i)) {
                    const result = await run(c, input);
                    if (!firstUse.has(c.label)) firstUse.set(c.label, contextMsOf(result));
                    samples.push({method: c.label, rep, input: i, result});
                    progress.tick(
                        `${c.label} input ${i} rep ${rep}: ${(result.totalMs / 1000).toFixed(2)} s, ${result.passes.map((p) => p.generation.generatedTokens).join("+")} tokens`,
                    );
                }
        progress.done();

        // Warm switching: alternate two composites whose contexts are both in the pool.
        const warm: number[] = [];
        for (let k = 0; k < options.switchReps; k++) {
            for (const c of [chain, switchChain]) {
                const r = await compose("lc++", options.inputs[0] ?? "", c, 1);
                warm.push(r.passes[0]?.contextMs ?? Number.NaN);
            }
        }
        const usage = process.memoryUsage();
        const peakRssMb = process.resourceUsage().maxRSS / 1024;
        const {contexts, memory: pool} = engine.status();
        const loraFiles = new Set(
            cases.flatMap((c) =>
                buildRecipe(chain, c.method, engine.installed).passes.flatMap((p) => [
                    ...p.adapters.map((u) => u.adapter.filePath),
                    ...(p.calibration ? [p.calibration.filePath] : []),
                ]),
            ),
        ).size;

        const byMethod: Record<string, MethodSpeed> = {};
        for (const method of cases.map((c) => c.label)) {
            const mine = samples.filter((s) => s.method === method).map((s) => s.result);
            byMethod[method] = {
                method,
                samples: mine.length,
                latencyMs: summarize(mine.map((r) => r.totalMs)),
                decodeTokPerS: summarize(mine.map(decodeRate)),
                promptTokPerS: summarize(mine.map(promptRate)),
                generatedTokens: summarize(
                    mine.map((r) => r.passes.reduce((s, p) => s + p.generation.generatedTokens, 0)),
                ),
                passes: mine[0]?.passes.length ?? 0,
                firstUseContextMs: firstUse.get(method) ?? Number.NaN,
            };
        }
        const ratio = (
            name: string,
            goal: string,
            num: string,
            den: string,
            value: (r: ComposeResult) => number,
            meets: (x: number) => boolean,
        ): Ratio => {
            const {paired, ratioOfMedians} = pairedRatio(samples, num, den, value);
            return {
                name,
                goal,
                pairedMedian: paired.median,
                pairedP25: paired.p25,
                pairedP75: paired.p75,
                ratioOfMedians,
                meets: meets(paired.median),
            };
        };
        const latency = (r: ComposeResult) => r.totalMs;
        const separate = (method: string) => `${method}${SEPARATE_SUFFIX}`;
        const reference = () => true;
        const ratios = [
            ratio("LC latency / multi-step", "<= 0.5", "lc", "multi-step", latency, (x) => x <= 0.5),
            ratio("LC++ latency / multi-step", "<= 0.5", "lc++", "multi-step", latency, (x) => x <= 0.5),
            ratio("LC decode tok/s / main-task LoRA", ">= 0.95", "lc", "main-lora", decodeRate, (x) => x >= 0.95),
            ratio("LC++ decode tok/s / main-task LoRA", ">= 0.95", "lc++", "main-lora", decodeRate, (x) => x >= 0.95),
            ratio("LC++ prompt tok/s / base (zero-shot)", ">= 0.8", "lc++", "zero-shot", promptRate, (x) => x >= 0.8),
            ratio("LC++ prompt tok/s / main-task LoRA", "(reference)", "lc++", "main-lora", promptRate, reference),
            ratio(
                `${separate("lc++")} decode tok/s / main-task LoRA`,
                "(reference)",
                separate("lc++"),
                "main-lora",
                decodeRate,
                reference,
            ),
            ratio(
                `${separate("lc++")} prompt tok/s / main-task LoRA`,
                "(reference)",
                separate("lc++"),
                "main-lora",
                promptRate,
                reference,
            ),
            ratio(
                "LC++ fused / separate, decode tok/s",
                "(reference)",
                "lc++",
                separate("lc++"),
                decodeRate,
                reference,
            ),
            ratio(
                "LC++ fused / separate, prompt tok/s",
                "(reference)",
                "lc++",
                separate("lc++"),
                promptRate,
                reference,
            ),
            ratio(
                "linear merge decode tok/s / main-task LoRA",
                "(reference)",
                "linear-merge",
                "main-lora",
                decodeRate,
                reference,
            ),
            ratio(
                "linear merge fused / separate, decode tok/s",
                "(reference)",
                "linear-merge",
                separate("linear-merge"),
                decodeRate,
                reference,
            ),
            ratio(
                "linear merge fused / separate, prompt tok/s",
                "(reference)",
                "linear-merge",
                separate("linear-merge"),
                promptRate,
                reference,
            ),
            ratio(
                "main-task LoRA decode tok/s / base (zero-shot)",
                "(reference)",
                "main-lora",
                "zero-shot",
                decodeRate,
                reference,
            ),
        ];
        const fused = samples.filter((s) => s.method === "lc++");
        const separated = new Map(
            samples.filter((s) => s.method === separate("lc++")).map((s) => [`${s.rep}|${s.input}`, s.result.text]),
        );
        const identical = fused.filter((s) => separated.get(`${s.rep}|${s.input}`) === s.result.text).length;
        // Where greedy texts part: float summation order differs (one concatenated product vs
        // three), which flips near-ties; random weights make near-ties common.
        const commonPrefix = fused.map((s) => {
            const other = separated.get(`${s.rep}|${s.input}`) ?? "";
            let k = 0;
            while (k < s.result.text.length && s.result.text[k] === other[k]) k++;
            return {chars: k, of: Math.max(s.result.text.length, other.length)};
        });
        const firstPair = {separate: separated.get("0|0") ?? "", fused: fused[0]?.result.text ?? ""};
        const rank = await fusedRank(engine, SPEED_CHAIN);

        await engine.dispose();

        // Cold switching: a pool of one context, so every switch creates a context (the
        // adapters stay loaded in the model and the expanded calibrations on disk, as in use).
        const coldEngine = await Engine.open(speedConfig(options, {maxContexts: 1}, "cold"));
        const cold: number[] = [];
        try {
            await coldEngine.compose({chain, method: "lc++", input: options.inputs[0] ?? "", maxTokens: 1});
            for (let k = 0; k < options.switchReps; k++)
                for (const c of [switchChain, chain]) {
                    const r = await coldEngine.compose({
                        chain: c,
                        method: "lc++",
                        input: options.inputs[0] ?? "",
                        maxTokens: 1,
                    });
                    cold.push(r.passes[0]?.contextMs ?? Number.NaN);
                    await delay(5);
                }
        } finally {
            await coldEngine.dispose();
        }
        const afterStart = await firstUseAfterStart(options, [switchChain, chain], options.inputs[0] ?? "");
        const warmMs = summarize(warm.slice(2));
        results = {
            title: `Speed on ${SPEED_CHAIN}: ${options.inputs.length} DialogSum inputs x ${options.reps} interleaved reps, ${options.threads} threads`,
            chain: SPEED_CHAIN,
            pack: options.packDescription,
            inputs: options.inputs.length,
            reps: options.reps,
            maxTokens: options.maxTokens,
            threads: options.threads,
            methods: byMethod,
            ratios,
            fusedVsSeparate: {identical, compared: fused.length, rank, commonPrefix, firstPair},
            switching: {
                warmMs,
                coldMs: summarize(cold),
                firstUseMs: switchFirstUse,
                warmMeetsGoal: warmMs.median <= 50,
                afterStart,
            },
            memory: {
                peakRssMb,
                rssAfterPoolMb: usage.rss / 1024 / 1024,
                contexts,
                loraFiles,
                poolBudgetMb: pool.budgetBytes / 2 ** 20,
                poolResidentMb: pool.residentBytes / 2 ** 20,
            },
            noise: {
                loadAvgStart,
                loadAvgEnd: loadavg(),
                note: "2-core shared VM; other sessions may run at the same time. Ratios are medians of per-input paired ratios over interleaved repetitions; the relative IQR of each timing is reported next to it.",
            },
            wallSeconds: (performance.now() - started) / 1000,
        };
    } catch (error) {
        await engine.dispose().catch(() => undefined);
        throw error;
    }
    return results;
}

/**
 * A fresh engine in a work folder of its own (so it makes its fused LoRAs itself) prepares in the
 * background and is then asked for two composites, one after the other, then alternates them warm.
 * Each is asked as the editor asks (method auto: what the engine prepares for; asked as lc++, a
 * reply composite met an LC++ fusion that nothing prepares, ~200 ms more), and a request's time
 * is its passes' context acquisitions together. With one new token a reply composite runs its
 * reply pass only: its tone or language pass (one more context of a single adapter, ~20 ms
 * cold) is not in this figure.
 */
async function firstUseAfterStart(
    options: SpeedOptions,
    chains: readonly TaskChain[],
    input: string,
): Promise<AfterStart> {
    const engine = await Engine.open(speedConfig(options, {}, "start"));
    try {
        const report = await engine.prepareInBackground();
        const contextMs = async (chain: TaskChain) => {
            const {passes} = await engine.compose({chain, method: "auto", input, maxTokens: 1});
            return passes.length === 0 ? Number.NaN : passes.reduce((sum, pass) => sum + pass.contextMs, 0);
        };
        const first: number[] = [];
        for (const chain of chains) first.push(await contextMs(chain));
        const warm: number[] = [];
        for (let k = 0; k < options.switchReps; k++) for (const chain of chains) warm.push(await contextMs(chain));
        const firstUseMs = summarize(first);
        const warmMs = summarize(warm);
        const overWarmMs = firstUseMs.median - warmMs.median;
        return {
            preparation: {steps: report.steps.length, busyMs: report.steps.reduce((sum, step) => sum + step.ms, 0)},
            firstUseMs,
            warmMs,
            overWarmMs,
            goalMs: FIRST_USE_GOAL_MS,
            meetsGoal: overWarmMs <= FIRST_USE_GOAL_MS,
        };
    } finally {
        await engine.dispose();
    }
}

/** The first `count` DialogSum dev dialogues, or the shortest ones (the same inputs for every method). */
export function speedInputs(dataDir: string, count: number, shortest = false): string[] {
    const dialogues = readFileSync(join(dataDir, "dialogsum", "dialogsum.dev.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => (JSON.parse(l) as {dialogue: string}).dialogue.trim());
    if (shortest) return [...dialogues].sort((a, b) => a.length - b.length).slice(0, count);
    return dialogues.slice(0, count);
}
