// Runs a recipe: each pass becomes a context (from the pool) and produces text; a pass's
// output is the next pass's input. This is the only place that joins compose/ and runtime/.

import {type ContextMix, type ContextPool, ContextWaitCancelledError} from "../runtime/contextPool";
import {type Generation, GenerationCancelledError, generate} from "../runtime/generate";
import type {Method} from "./methods";
import {mixKey, type Pass, type Recipe} from "./recipe";
import {type ChainKey, chainKey} from "./taskChain";

export interface ComposeOptions {
    readonly maxTokens: number;
    readonly signal?: AbortSignal;
    /** Text as it is generated; `pass` counts from 0, the last pass is the answer. */
    readonly onText?: (text: string, pass: number) => void;
    /** Prompt evaluation of a long input, batch by batch (see runtime/generate.ts). */
    readonly onPrompt?: (evaluated: number, total: number, pass: number) => void;
}

export interface PassReport {
    readonly does: ChainKey;
    readonly adapters: readonly {id: string; scale: number}[];
    readonly calibration: string | null;
    readonly coldContext: boolean;
    readonly contextMs: number;
    readonly generation: Generation;
}

export interface ComposeResult {
    readonly text: string;
    readonly chain: ChainKey;
    readonly method: Method;
    readonly notes: readonly string[];
    readonly passes: readonly PassReport[];
    readonly totalMs: number;
}

export class ComposeCancelledError extends Error {
    override name = "ComposeCancelledError";
    constructor(readonly passes: readonly PassReport[]) {
        super("Composition was cancelled; nothing was produced.");
    }
}

/** Turns a pass into the exact LoRA files and scales its context needs. */
export type MixResolver = (pass: Pass) => Promise<ContextMix>;

/** The adapter mix of a pass, with its calibration expanded to a LoRA file by `expand`. */
export async function passMix(pass: Pass, expand: (pass: Pass) => Promise<string | null>): Promise<ContextMix> {
    const loras = pass.adapters.map((use) => ({filePath: use.adapter.filePath, scale: use.scale}));
    const calibrationFile = await expand(pass);
    if (calibrationFile !== null) loras.push({filePath: calibrationFile, scale: 1});
    return {key: mixKey(pass), loras};
}

export async function runRecipe(
    recipe: Recipe,
    input: string,
    pool: ContextPool,
    resolveMix: MixResolver,
    options: ComposeOptions,
): Promise<ComposeResult> {
    const started = performance.now();
    const reports: PassReport[] = [];
    let text = input;
    for (const [index, pass] of recipe.passes.entries()) {
        const contextStarted = performance.now();
        const mix = await resolveMix(pass);
        // One request at a time per context: a busy mix waits its turn (see ContextPool.use).
        const generation = await pool
            .use(mix, options.signal, async ({context, created}) => {
                const contextMs = performance.now() - contextStarted;
                const describe = (generation: Generation): PassReport => ({
                    does: pass.does,
                    adapters: pass.adapters.map((use) => ({id: use.adapter.id, scale: use.scale})),
                    calibration: pass.calibration?.filePath ?? null,
                    coldContext: created,
                    contextMs,
                    generation,
                });
                try {
                    const generation = await generate(context, pass.prompt, text, {
                        maxTokens: options.maxTokens,
                        signal: options.signal,
                        onText: (piece) => options.onText?.(piece, index),
                        onPrompt: (evaluated, total) => options.onPrompt?.(evaluated, total, index),
                    });
                    reports.push(describe(generation));
                    return generation;
                } catch (error) {
                    if (error instanceof GenerationCancelledError) {
                        reports.push(describe(error.partial));
                        throw new ComposeCancelledError(reports);
                    }
                    throw error;
                }
            })
            .catch((error: unknown) => {
                if (error instanceof ContextWaitCancelledError) throw new ComposeCancelledError(reports);
                throw error;
            });
        text = generation.text.trim();
    }
    return {
        text,
        chain: chainKey(recipe.chain),
        method: recipe.method,
        notes: recipe.notes,
        passes: reports,
        totalMs: performance.now() - started,
    };
}
