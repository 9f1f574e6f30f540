// Memory, measured where the editor runs the engine: its own process (EngineClient, with the
// environment engine/isolation/hostEnvironment.ts gives it), the default configuration and the
// installed pack. Three figures against issue 17's goals:
//   - base + pack: the model open and the whole pack installed (every adapter and calibration
//     read and checked) and prepared (engine/preparation.ts: every composite's fused LoRA made,
//     as on a first start), nothing generated yet;
//   - base + pack + 4 warm composites: four calibrated composites used once each (their fused
//     LoRAs made and loaded, a context each), then all four again, which must find them warm;
//   - the peak of the process under 20 concurrent requests over eight mixes (more than fit the
//     budget, so requests wait for contexts and evict idle ones), twice.
// The process's RSS and peak (VmRSS, VmHWM: Linux /proc) sit next to what the context pool
// charged (runtime/contextPool.ts), so the report shows whether the pool's estimate holds.

import {readFileSync, writeFileSync} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import type {MethodChoice} from "../engine/compose/methods";
import {type ChainKey, parseTaskChain} from "../engine/compose/taskChain";
import {engineConfig, installedPack} from "../engine/config";
import {readGgufHeader} from "../engine/gguf";
import {EngineClient} from "../engine/isolation/engineClient";
import {ENGINE_MALLOC_TUNABLES} from "../engine/isolation/hostEnvironment";
import {cachePaths} from "../engine/model/paths";
import {attentionShape, contextBytes, kvCacheBytes} from "../engine/runtime/contextMemory";
import {MIN_CONTEXT_SIZE, type PoolMemory} from "../engine/runtime/contextPool";
import type {Progress} from "./progress";

export const MEMORY_GOALS = {warmMb: 800, concurrentPeakMb: 1000} as const;

/** Four calibrated composites of the bundled pack, one per task pair kind. */
export const WARM_COMPOSITES: readonly ChainKey[] = [
    "summarize+translate:fr",
    "reply+tone:casual",
    "summarize+tone:professional",
    "reply+translate:de",
] as ChainKey[];

/** Eight mixes for the concurrent run: the four warm ones, three more composites and a single task. */
const CONCURRENT_CHAINS: readonly [ChainKey, MethodChoice][] = [
    ...WARM_COMPOSITES.map((chain): [ChainKey, MethodChoice] => [chain, "auto"]),
    ["summarize+translate:es" as ChainKey, "auto"],
    ["reply+tone:witty" as ChainKey, "auto"],
    ["tone:casual+translate:fr" as ChainKey, "auto"],
    ["summarize" as ChainKey, "auto"],
];
/** The goal's load; the quick mode sends one request per mix and skips the second round. */
export const CONCURRENT_REQUESTS = 20;

export interface MemoryOptions {
    readonly root: string;
    readonly modelPath: string;
    readonly inputs: readonly string[];
    readonly maxTokens: number;
    readonly threads: number;
    readonly concurrentRequests: number;
    /** Run the concurrent requests a second time, every composite fused. */
    readonly repeat: boolean;
}

/** Decimal megabytes, as the goals are stated (0.8 GB = 800 MB). */
const MB = 1e6;

export interface MemoryResults {
    readonly goals: typeof MEMORY_GOALS;
    readonly engine: {
        readonly contextSize: number;
        readonly batchSize: number;
        readonly contextMemoryMb: number;
        readonly flashAttention: boolean;
        readonly threads: number;
        readonly maxTokens: number;
        readonly mallocTunables: string;
    };
    /** What the pool charges a context of each size class of this model (runtime/contextMemory.ts). */
    readonly contextEstimates: {contextSize: number; kvCacheMb: number; chargedMb: number}[];
    readonly basePackMb: number;
    /** The engine's background preparation, waited for before base + pack is measured; absent in older runs. */
    readonly preparation?: {
        readonly steps: number;
        readonly failed: number;
        readonly busyMs: number;
        readonly totalMs: number;
    };
    readonly warm: {
        readonly composites: readonly string[];
        readonly rssMb: number;
        readonly meetsGoal: boolean;
        /** All four found warm on the second round. */
        readonly allWarm: boolean;
        readonly pool: PoolMemory;
    };
    readonly concurrent: {
        readonly requests: number;
        readonly mixes: number;
        readonly failed: string[];
        readonly peakRssMb: number;
        readonly meetsGoal: boolean;
        readonly seconds: number;
        readonly pool: PoolMemory;
        /** The same requests again; null where the peak cannot be reset. */
        readonly again: {readonly failed: string[]; readonly peakRssMb: number; readonly seconds: number} | null;
    };
    readonly wallSeconds: number;
}

/** Restarts a process's peak (VmHWM) from its current RSS (Linux 4.0+); false where that is refused. */
function resetPeak(pid: number): boolean {
    try {
        writeFileSync(`/proc/${pid}/clear_refs`, "5");
        return true;
    } catch {
        return false;
    }
}

/** Resident memory and its peak of a process, in MB (Linux /proc). */
function processMemory(pid: number): {rssMb: number; peakMb: number} {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => {
        const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
        if (match === null) throw new Error(`No ${name} for process ${pid}.`);
        return (Number(match[1]) * 1024) / MB;
    };
    return {rssMb: field("VmRSS"), peakMb: field("VmHWM")};
}

export async function runMemory(options: MemoryOptions, progress: Progress): Promise<MemoryResults> {
    const started = performance.now();
    const home = await mkdtemp(join(tmpdir(), "composer-bench-memory-"));
    // Fused LoRAs are made in this run's own cache, as on a first start.
    const config = engineConfig(options.modelPath, installedPack(options.root, cachePaths(home)), {
        threads: options.threads,
    });
    const shape = attentionShape(await readGgufHeader(options.modelPath));
    const contextEstimates: MemoryResults["contextEstimates"] = [];
    for (let size = MIN_CONTEXT_SIZE; size <= config.contextSize; size *= 2) {
        const settings = {
            contextSize: size,
            batchSize: config.batchSize,
            flashAttention: config.flashAttention,
            kvCacheType: "F16" as const,
        };
        contextEstimates.push({
            contextSize: size,
            kvCacheMb: kvCacheBytes(shape, settings) / MB,
            chargedMb: contextBytes(shape, settings) / MB,
        });
    }
    const client = new EngineClient({hostScript: join(options.root, "dist", "engine-host.js"), config});
    const input = (i: number) => options.inputs[i % options.inputs.length] ?? "";
    const compose = (chain: ChainKey, method: MethodChoice, i: number) =>
        client.compose({chain: parseTaskChain(chain), method, input: input(i), maxTokens: options.maxTokens});
    try {
        await client.status();
        const pid = client.pid;
        if (pid === undefined) throw new Error("the engine process has no pid");
        const prepared = await client.preparation();
        const basePackMb = processMemory(pid).rssMb;
        progress.note(`memory: base + pack ${basePackMb.toFixed(0)} MB`);

        progress.start("memory: warm composites", WARM_COMPOSITES.length * 2);
        for (const [i, chain] of WARM_COMPOSITES.entries()) {
            await compose(chain, "auto", i);
            progress.tick(`${chain} first use`);
        }
        let allWarm = true;
        for (const [i, chain] of WARM_COMPOSITES.entries()) {
            const result = await compose(chain, "auto", i);
            allWarm &&= result.passes.every((pass) => !pass.coldContext);
            progress.tick(`${chain} again (${result.passes.some((p) => p.coldContext) ? "cold" : "warm"})`);
        }
        progress.done();
        const warmPool = (await client.status()).memory;
        const warmRssMb = processMemory(pid).rssMb;

        const concurrently = async (round: string) => {
            progress.start(`memory: concurrent requests (${round})`, options.concurrentRequests);
            const roundStarted = performance.now();
            const settled = await Promise.allSettled(
                Array.from({length: options.concurrentRequests}, async (_, n) => {
                    const [chain, method] = CONCURRENT_CHAINS[n % CONCURRENT_CHAINS.length] ?? [
                        "summarize" as ChainKey,
                        "auto",
                    ];
                    const result = await compose(chain, method, n);
                    progress.tick(
                        `${chain}: ${result.passes.map((p) => p.generation.generatedTokens).join("+")} tokens`,
                    );
                    return result;
                }),
            );
            progress.done();
            return {
                seconds: (performance.now() - roundStarted) / 1000,
                failed: settled.flatMap((s, n) =>
                    s.status === "rejected"
                        ? [`${CONCURRENT_CHAINS[n % CONCURRENT_CHAINS.length]?.[0]}: ${(s.reason as Error).message}`]
                        : [],
                ),
                peakRssMb: processMemory(pid).peakMb,
            };
        };
        const first = await concurrently("first");
        const concurrentPool = (await client.status()).memory;
        const again = options.repeat && resetPeak(pid) ? await concurrently("again") : null;
        const {seconds, failed, peakRssMb} = first;
        return {
            goals: MEMORY_GOALS,
            engine: {
                contextSize: config.contextSize,
                batchSize: config.batchSize,
                contextMemoryMb: config.contextMemoryBytes / MB,
                flashAttention: config.flashAttention,
                threads: options.threads,
                maxTokens: options.maxTokens,
                mallocTunables: process.platform === "linux" ? ENGINE_MALLOC_TUNABLES : "(not Linux: none)",
            },
            contextEstimates,
            basePackMb,
            ...(prepared === null
                ? {}
                : {
                      preparation: {
                          steps: prepared.steps.length,
                          failed: prepared.steps.filter((step) => step.error !== undefined).length,
                          busyMs: prepared.steps.reduce((sum, step) => sum + step.ms, 0),
                          totalMs: prepared.totalMs,
                      },
                  }),
            warm: {
                composites: WARM_COMPOSITES,
                rssMb: warmRssMb,
                meetsGoal: warmRssMb <= MEMORY_GOALS.warmMb,
                allWarm,
                pool: warmPool,
            },
            concurrent: {
                requests: options.concurrentRequests,
                mixes: CONCURRENT_CHAINS.length,
                failed,
                peakRssMb,
                meetsGoal:
                    options.concurrentRequests >= CONCURRENT_REQUESTS &&
                    failed.length === 0 &&
                    peakRssMb <= MEMORY_GOALS.concurrentPeakMb,
                seconds,
                pool: concurrentPool,
                again,
            },
            wallSeconds: (performance.now() - started) / 1000,
        };
    } finally {
        await client.dispose();
        await rm(home, {recursive: true, force: true});
    }
}
