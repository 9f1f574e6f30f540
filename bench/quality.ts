// The quality run: every selected variant x every method the engine offers for it with what is
// installed, generated greedily through Engine.compose (the user's path), cached as it goes.

import type {Method, MethodChoice} from "../engine/compose/methods";
import {availableMethods, buildRecipe} from "../engine/compose/recipe";
import {type ChainKey, chainKey, parseTaskChain, type TaskChain} from "../engine/compose/taskChain";
import type {Engine} from "../engine/engine";
import {type CachedGeneration, type GenerationCache, generationKey, keyConfigHash, recipeConfigHash} from "./cache";
import type {EvalSet} from "./evalSet";
import type {Progress} from "./progress";

/** One generation to make (or find in the cache): a chain, the method asked for, an input. */
export interface GenerationRequest {
    readonly variant: string;
    readonly method: MethodChoice;
    readonly id: string;
    readonly input: string;
    readonly key: string;
}

export interface PlannedGeneration extends GenerationRequest {
    readonly method: Method;
}

export interface QualityPlan {
    readonly items: readonly PlannedGeneration[];
    /** variant -> methods run (in order), and the config hash of each. */
    readonly methods: Readonly<Record<string, {method: Method; configHash: string}[]>>;
}

export function planQuality(
    engine: Engine,
    evalSet: EvalSet,
    model: {fingerprint: string; sha256: string},
    options: {methods: readonly Method[] | null; maxTokens: number},
): QualityPlan {
    const capabilities = new Map(engine.capabilities().map((c) => [c.chain as string, c]));
    const items: PlannedGeneration[] = [];
    const methods: Record<string, {method: Method; configHash: string}[]> = {};
    for (const [variant, data] of Object.entries(evalSet.variants)) {
        const chain = parseTaskChain(variant);
        const offered = (capabilities.get(variant)?.methods ?? ["zero-shot"]) as Method[];
        const chosen = offered.filter((m) => options.methods === null || options.methods.includes(m));
        methods[variant] = [];
        for (const method of chosen) {
            const configHash = recipeConfigHash(
                buildRecipe(chain, method, engine.installed),
                model,
                options.maxTokens,
                engine.decoding,
            );
            methods[variant].push({method, configHash});
            for (const example of data.examples)
                items.push({
                    variant,
                    method,
                    id: example.id,
                    input: example.input,
                    key: generationKey(variant, method, example.input, configHash),
                });
        }
    }
    return {items, methods};
}

/** A chain run with one method; `sameAs`: other methods that make the same recipe (not run again). */
export interface ChainRun {
    readonly chain: ChainKey;
    readonly method: Method;
    readonly sameAs: Method[];
    readonly passes: number;
}

/**
 * Every method the engine offers for `chain` on `inputs`, each distinct recipe once (on a one-task
 * chain merge and multi-step are the adapter alone; on a two-auxiliary chain the merge at weights
 * 1/1 is aux-lora). Each planned generation keeps its input record (`source`) for scoring.
 */
export function planChain<T extends {id: string; input: string}>(
    engine: Engine,
    chain: TaskChain,
    inputs: readonly T[],
    options: {methods: readonly Method[] | null; model: {fingerprint: string; sha256: string}; maxTokens: number},
): {runs: ChainRun[]; items: (PlannedGeneration & {source: T})[]} {
    const key = chainKey(chain);
    const runs: ChainRun[] = [];
    const items: (PlannedGeneration & {source: T})[] = [];
    const byRecipe = new Map<string, ChainRun>();
    for (const method of availableMethods(chain, engine.installed)) {
        if (options.methods !== null && !options.methods.includes(method)) continue;
        const recipe = buildRecipe(chain, method, engine.installed);
        const configHash = recipeConfigHash(recipe, options.model, options.maxTokens, engine.decoding);
        const twin = byRecipe.get(configHash);
        if (twin !== undefined) {
            twin.sameAs.push(method);
            continue;
        }
        const run = {chain: key, method, sameAs: [], passes: recipe.passes.length};
        byRecipe.set(configHash, run);
        runs.push(run);
        for (const source of inputs)
            items.push({
                variant: key,
                method,
                id: source.id,
                input: source.input,
                key: generationKey(key, method, source.input, configHash),
                source,
            });
    }
    return {runs, items};
}

/**
 * Generates every item not in the cache, through Engine.compose, appending each to the cache as
 * it finishes. `maxTokens` null: the request leaves the budget to the engine (the user's path).
 */
export async function runQuality(
    engine: Engine,
    plan: {readonly items: readonly GenerationRequest[]},
    cache: GenerationCache,
    progress: Progress,
    maxTokens: number | null,
    phase = "quality",
): Promise<Map<string, CachedGeneration>> {
    const results = new Map<string, CachedGeneration>();
    const todo = plan.items.filter((item) => cache.get(item.key) === undefined);
    progress.start(phase, plan.items.length, plan.items.length - todo.length);
    for (const item of plan.items) {
        const cached = cache.get(item.key);
        if (cached !== undefined) {
            results.set(item.key, cached);
            continue;
        }
        const started = performance.now();
        const common = {
            key: item.key,
            variant: item.variant,
            method: item.method,
            id: item.id,
            configHash: keyConfigHash(item.key),
        };
        let entry: CachedGeneration;
        try {
            const result = await engine.compose({
                chain: parseTaskChain(item.variant),
                method: item.method,
                input: item.input,
                ...(maxTokens === null ? {} : {maxTokens}),
            });
            entry = {
                ...common,
                ranAs: result.method,
                text: result.text,
                error: null,
                passes: result.passes.map((p) => ({
                    does: p.does,
                    promptTokens: p.generation.promptTokens,
                    generatedTokens: p.generation.generatedTokens,
                    stopReason: p.generation.stopReason,
                    promptMs: p.generation.promptMs,
                    decodeMs: p.generation.decodeMs,
                })),
                notes: result.notes,
                cutAtBudget: result.cutAtBudget,
                totalMs: result.totalMs,
                at: new Date().toISOString(),
            };
        } catch (error) {
            // Recorded, not retried: e.g. an input longer than the context. Left out of the scores.
            entry = {
                ...common,
                text: "",
                error: error instanceof Error ? error.message : String(error),
                passes: [],
                totalMs: performance.now() - started,
                at: new Date().toISOString(),
            };
        }
        await cache.add(entry);
        results.set(item.key, entry);
        progress.tick(`${item.variant} ${item.method} ${item.id} ${(entry.totalMs / 1000).toFixed(1)} s`);
    }
    progress.done();
    return results;
}

/**
 * The generation time a plan costs from an empty cache: the sum of each generation's own time,
 * recorded when it ran (cached ones included), in seconds.
 */
export function generationSeconds(generations: ReadonlyMap<string, CachedGeneration>): number {
    let ms = 0;
    for (const g of generations.values()) ms += g.totalMs;
    return ms / 1000;
}
