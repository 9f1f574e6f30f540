// Turns (chain, method) into a recipe: which adapters at which scales, which calibration,
// which prompt, in how many passes. Pure: it only reads the inventory it is given, so
// every choice it makes can be tested without a model. The inventory holds verified values
// only (inventory.ts): each calibration comes bound to its installed adapters, so a recipe
// picks one by chain and kind and checks nothing again.

import {calibrationFileName} from "../calibrations/format";
import type {RefusedCalibration} from "../calibrations/store";
import type {VerifiedCalibration} from "../calibrations/verified";
import type {HashedFile} from "../files/sha256";
import {budgetFor, type TokenBudget} from "./length";
import {type CalibrationKind, METHODS, type Method, type MethodChoice} from "./methods";
import {chainPrompt, type PromptTemplate} from "./prompt";
import type {QuoteHandling} from "./segments";
import {
    type AuxTaskId,
    type ChainKey,
    chainKey,
    chainTasks,
    describeChain,
    isComposite,
    isToneRewrite,
    LANGUAGES,
    MAIN_TASKS,
    type MainTaskId,
    type TaskChain,
    TONES,
    taskChain,
} from "./taskChain";

/** A valid task adapter; its file as hashed when it was listed (`filePath`, `sha256`, `version`). */
export interface InstalledAdapter extends HashedFile {
    readonly id: string;
    /** The chain it was trained for: one task, or a composite for a joint expert. */
    readonly chain: TaskChain;
    readonly prompt: PromptTemplate;
    /** From the bundled pack, not installed by the user. */
    readonly bundled: boolean;
    /** Its manifest's keptForCalibrations: installed for the calibrations bound to it. */
    readonly keptForCalibrations: boolean;
}

/** A calibration bound to the installed adapters it merges (calibrations/verified.ts), with its prompt. */
export type InstalledCalibration = VerifiedCalibration<InstalledAdapter> & {readonly prompt: PromptTemplate};

export interface Inventory {
    readonly adapters: readonly InstalledAdapter[];
    readonly calibrations: readonly InstalledCalibration[];
    /** Calibration files that could not be used, with the error: a request naming one fails with it. */
    readonly refusedCalibrations?: readonly RefusedCalibration[];
}

export interface AdapterUse {
    readonly adapter: InstalledAdapter;
    readonly scale: number;
}

/**
 * How a pass reads its input: a rewrite goes segment by segment so that every part of a long
 * input is rewritten; a summary of a text longer than it can read is written chunk by chunk, and
 * one of an email with its thread writer by writer, a paragraph each; a reply reads the whole text.
 */
export type Reading = "segments" | "chunks" | "whole";

/**
 * What a rewrite does with a fragment (a short line that is not a sentence: a greeting, a
 * sign-off, a name): a translation translates it, and keeps the line as it was when the answer
 * is not a short line too; a tone rewrite keeps it. Given "Steve", "Hm" or "Hi Maloy," the tone
 * and translation adapters wrote sentences of their own (8 of the 9 cut outputs in the real-text
 * rewrite run of 2026-12-04 were such lines of an email).
 */
export type FragmentHandling = "translate" | "keep";

/** One generation step: a fixed adapter mix (a context), a prompt, and how long it may write. */
export interface Pass {
    readonly does: ChainKey;
    readonly adapters: readonly AdapterUse[];
    readonly calibration: InstalledCalibration | null;
    readonly prompt: PromptTemplate;
    readonly budget: TokenBudget;
    readonly reads: Reading;
    /** Only for a pass that reads segments. */
    readonly fragments: FragmentHandling;
    /** Only for a pass that reads segments: an email's quoted lines (segments.ts). */
    readonly quotes: QuoteHandling;
    /**
     * A tone rewrite into English keeps a sentence as it was when its rewrite lost a number, a name
     * or a "not" (facts.ts); a translation's facts are in another language.
     */
    readonly keepsFacts: boolean;
}

export interface Recipe {
    readonly chain: TaskChain;
    readonly method: Method;
    /** Each pass's output is the next pass's input. */
    readonly passes: readonly [Pass, ...Pass[]];
    /** What the user should know about the choice, e.g. a fallback. */
    readonly notes: readonly string[];
    /**
     * For a text of more chunks than a summary has paragraphs (length.ts): summarizes each chunk,
     * in English, before the pass that reads "chunks" summarizes groups of those summaries.
     */
    readonly chunkSummary: Pass | null;
    /**
     * For a one-pass composite that translates, run by "auto": the translation adapter alone, which
     * translates the answer when it comes back in English (composer.ts, language.ts). An explicit
     * method runs as chosen, so that methods can be compared.
     */
    readonly languageRepair: Pass | null;
    /**
     * For a one-pass summary composite, run by "auto": its task adapters one after another
     * (multi-step), which write the summary again from the input when the one-pass answer is the
     * input's own sentences (copying.ts) or stopped where it turned to another writing system
     * (composer.ts).
     */
    readonly stepsFallback: readonly [Pass, ...Pass[]] | null;
}

export class RecipeError extends Error {
    override name = "RecipeError";
}

/**
 * Weight 1 for every adapter (each at full strength), used when no calibration records its
 * weights: the merge the lab trains its calibrations on, so merge vs LC is the same ablation on
 * every chain. (Averaging instead, 1/n each, left summarize + Spanish answering in English.)
 */
function defaultMergeWeights(count: number): number[] {
    return Array.from({length: count}, () => 1);
}

function sameChain(a: TaskChain, b: TaskChain): boolean {
    return chainKey(a) === chainKey(b);
}

/**
 * The adapter that runs `chain` when several are installed for it: one the user installed before a
 * bundled one (they chose it), and one kept for its calibrations (the bundled paraphrase adapter
 * the summary and reply calibrations were trained on) only when there is no other; then by id.
 * A calibration binds its own adapters by sha256 whichever runs the task (calibrations/verified.ts).
 */
function adapterFor(inventory: Inventory, chain: TaskChain): InstalledAdapter | undefined {
    const rank = (adapter: InstalledAdapter) => (adapter.keptForCalibrations ? 2 : 0) + (adapter.bundled ? 1 : 0);
    return inventory.adapters
        .filter((adapter) => sameChain(adapter.chain, chain))
        .reduce<InstalledAdapter | undefined>(
            (best, adapter) => (best === undefined || rank(adapter) < rank(best) ? adapter : best),
            undefined,
        );
}

function singleTaskAdapter(inventory: Inventory, task: MainTaskId | AuxTaskId): InstalledAdapter | undefined {
    return adapterFor(inventory, taskChain([task]));
}

/** The first calibration of this kind for the chain (every one in the inventory has its adapters installed). */
function usableCalibration(
    inventory: Inventory,
    chain: TaskChain,
    kind: CalibrationKind,
): InstalledCalibration | undefined {
    return inventory.calibrations.find(
        (calibration) => calibration.kind === kind && sameChain(calibration.chain, chain),
    );
}

function requireAdapter(inventory: Inventory, task: MainTaskId | AuxTaskId, method: Method): InstalledAdapter {
    const adapter = singleTaskAdapter(inventory, task);
    if (adapter === undefined)
        throw new RecipeError(`Method "${method}" needs an adapter for "${task}", and none is installed.`);
    return adapter;
}

function readingFor(chain: TaskChain): Reading {
    if (chain.main === null) return "segments";
    return chain.main === "summarize" ? "chunks" : "whole";
}

/** Whether a rewrite translates the lines a tone rewrite keeps as they are (fragments, quotes). */
const translates = (chain: TaskChain): boolean => chain.aux.some((task) => task.startsWith("translate:"));

/** A pass doing `chain`; its budget and reading follow from what it does. */
function pass(
    chain: TaskChain,
    use: Omit<Pass, "does" | "budget" | "reads" | "fragments" | "quotes" | "keepsFacts">,
): Pass {
    return {
        does: chainKey(chain),
        budget: budgetFor(chain),
        reads: readingFor(chain),
        fragments: translates(chain) ? "translate" : "keep",
        quotes: translates(chain) ? "translate" : "keep",
        keepsFacts: isToneRewrite(chain),
        ...use,
    };
}

function recipe(chain: TaskChain, method: Method, only: Pass, notes: string[] = []): Recipe {
    return {chain, method, passes: [only], notes, chunkSummary: null, languageRepair: null, stepsFallback: null};
}

function buildExplicit(chain: TaskChain, method: Method, inventory: Inventory): Recipe {
    const key = chainKey(chain);
    const tasks = chainTasks(chain);
    // A single-task chain with its own adapter uses that adapter's own prompt.
    const singleAdapter = tasks.length === 1 ? adapterFor(inventory, chain) : undefined;
    const prompt = singleAdapter?.prompt ?? chainPrompt(chain);

    switch (method) {
        case "zero-shot":
            return recipe(chain, method, pass(chain, {adapters: [], calibration: null, prompt: chainPrompt(chain)}));
        case "main-lora": {
            if (chain.main === null) throw new RecipeError(`"${key}" has no main task, so "main-lora" does not apply.`);
            const adapter = requireAdapter(inventory, chain.main, method);
            return recipe(chain, method, pass(chain, {adapters: [{adapter, scale: 1}], calibration: null, prompt}));
        }
        case "aux-lora": {
            const [firstAux] = chain.aux;
            if (firstAux === undefined)
                throw new RecipeError(`"${key}" has no auxiliary task, so "aux-lora" does not apply.`);
            const adapters = chain.aux.map((task) => ({adapter: requireAdapter(inventory, task, method), scale: 1}));
            return recipe(chain, method, pass(chain, {adapters, calibration: null, prompt}));
        }
        case "linear-merge": {
            // A calibration's own adapters at the weights it was trained on, so that merge vs. LC is a
            // clean ablation (an adapter kept for calibrations is not the one that runs its task alone).
            const trained = usableCalibration(inventory, chain, "lc++") ?? usableCalibration(inventory, chain, "lc");
            const weights = defaultMergeWeights(tasks.length);
            const uses =
                trained?.adapters.map((bound) => ({adapter: bound.adapter, scale: bound.mergeWeight})) ??
                tasks.map((task, i) => ({adapter: requireAdapter(inventory, task, method), scale: weights[i] ?? 0}));
            return recipe(chain, method, pass(chain, {adapters: uses, calibration: null, prompt}));
        }
        case "multi-step": {
            const passes = tasks.map((task): Pass => {
                const adapter = requireAdapter(inventory, task, method);
                return pass(taskChain([task]), {
                    adapters: [{adapter, scale: 1}],
                    calibration: null,
                    prompt: adapter.prompt,
                });
            });
            const [first, ...rest] = passes;
            if (first === undefined) throw new RecipeError("Empty chain.");
            return {
                chain,
                method,
                passes: [first, ...rest],
                notes: [],
                chunkSummary: null,
                languageRepair: null,
                stepsFallback: null,
            };
        }
        case "joint-expert": {
            const adapter = adapterFor(inventory, chain);
            if (adapter === undefined || !isComposite(chain))
                throw new RecipeError(`No joint-expert adapter is installed for "${key}".`);
            return recipe(
                chain,
                method,
                pass(chain, {adapters: [{adapter, scale: 1}], calibration: null, prompt: adapter.prompt}),
            );
        }
        case "lc":
        case "lc++": {
            const calibration = usableCalibration(inventory, chain, method);
            if (calibration === undefined) {
                // A file for this very chain and kind that was refused where it entered: its own error (code included).
                const fileName = calibrationFileName(chain, method);
                const refused = inventory.refusedCalibrations?.find((file) => file.fileName === fileName);
                if (refused !== undefined) throw refused.error;
                throw new RecipeError(
                    `No usable ${method.toUpperCase()} calibration for "${key}" (none installed, or its adapters are missing).`,
                );
            }
            const uses = calibration.adapters.map((bound) => ({adapter: bound.adapter, scale: bound.mergeWeight}));
            return recipe(chain, method, pass(chain, {adapters: uses, calibration, prompt: calibration.prompt}));
        }
    }
}

/**
 * A reply, then a rewrite of it in a language or a tone: "auto" runs the two passes even where a
 * calibration is installed (docs/method.md "Choosing a method at run time"). Read against 12 real
 * emails, the reply adapter followed by the translation or tone adapter answered the email 9 to 11
 * times; LC++ 3 to 6 times, also after its tone calibrations were trained on email replies
 * ("Sure, I'll do it.", "¡Gracias! Me gustaría hacerlo."). On the paper suite (n = 50) the two
 * are within noise, tone included. The reply is short, so its second pass costs little.
 */
function repliesThenRewrites(chain: TaskChain): boolean {
    return chain.main === "reply" && chain.aux.length === 1;
}

function everyTaskHasItsAdapter(chain: TaskChain, inventory: Inventory): boolean {
    return chainTasks(chain).every((task) => singleTaskAdapter(inventory, task) !== undefined);
}

/** The method "auto" resolves to for this chain, with the reason when it is a fallback. */
export function autoMethod(chain: TaskChain, inventory: Inventory): {method: Method; note: string | null} {
    const key = chainKey(chain);
    if (!isComposite(chain)) {
        if (adapterFor(inventory, chain) !== undefined)
            return {method: chain.main === null ? "aux-lora" : "main-lora", note: null};
        return {method: "zero-shot", note: `No adapter for "${key}" is installed; running the base model zero-shot.`};
    }
    if (repliesThenRewrites(chain) && everyTaskHasItsAdapter(chain, inventory))
        return {method: "multi-step", note: null};
    for (const kind of ["lc++", "lc"] as const) {
        if (usableCalibration(inventory, chain, kind) !== undefined) return {method: kind, note: null};
    }
    // A joint expert was trained for this very chain: one pass, so it comes before multi-step.
    if (adapterFor(inventory, chain) !== undefined) return {method: "joint-expert", note: null};
    const missing = chainTasks(chain).filter((task) => adapterFor(inventory, taskChain([task])) === undefined);
    if (missing.length === 0)
        return {
            method: "multi-step",
            note: `No calibration for "${describeChain(chain)}": running ${chainTasks(chain).length} passes (multi-step) instead of one.`,
        };
    return {
        method: "zero-shot",
        note: `No calibration for "${describeChain(chain)}" and no adapter for ${missing.join(", ")}: running the base model zero-shot.`,
    };
}

export function buildRecipe(chain: TaskChain, choice: MethodChoice, inventory: Inventory): Recipe {
    const built = withStepsFallback(
        withLanguageRepair(buildWithoutChunks(chain, choice, inventory), choice, inventory),
        choice,
        inventory,
    );
    if (!built.passes.some((p) => p.reads === "chunks")) return built;
    // The chunks of a very long text are summarized in English by the best summarizer installed;
    // the recipe's own first pass then summarizes groups of those summaries (in French, casually, ...).
    const summarize = taskChain(["summarize"]);
    const [chunkSummary] = sameChain(chain, summarize)
        ? built.passes
        : buildWithoutChunks(summarize, "auto", inventory).passes;
    return {...built, chunkSummary};
}

/** The translation adapter alone, for "auto" on a one-pass composite that translates (Recipe.languageRepair). */
function withLanguageRepair(built: Recipe, choice: MethodChoice, inventory: Inventory): Recipe {
    const translation = built.chain.aux.find((task) => task.startsWith("translate:"));
    if (choice !== "auto" || translation === undefined || built.passes.length > 1 || !isComposite(built.chain))
        return built;
    const adapter = singleTaskAdapter(inventory, translation);
    if (adapter === undefined) return built;
    const only = taskChain([translation]);
    const repair = pass(only, {adapters: [{adapter, scale: 1}], calibration: null, prompt: adapter.prompt});
    return {...built, languageRepair: repair};
}

/** Multi-step, for "auto" on a one-pass summary composite (Recipe.stepsFallback), when every task has its adapter. */
function withStepsFallback(built: Recipe, choice: MethodChoice, inventory: Inventory): Recipe {
    const {chain} = built;
    if (choice !== "auto" || chain.main !== "summarize" || built.passes.length > 1 || !isComposite(chain)) return built;
    if (!everyTaskHasItsAdapter(chain, inventory)) return built;
    return {...built, stepsFallback: buildExplicit(chain, "multi-step", inventory).passes};
}

function buildWithoutChunks(chain: TaskChain, choice: MethodChoice, inventory: Inventory): Recipe {
    if (choice !== "auto") return buildExplicit(chain, choice, inventory);
    const {method, note} = autoMethod(chain, inventory);
    const built = buildExplicit(chain, method, inventory);
    return note === null ? built : {...built, notes: [...built.notes, note]};
}

/** Every method that can run this chain with what is installed (for the UI and the benchmark). */
export function availableMethods(chain: TaskChain, inventory: Inventory): Method[] {
    const methods: Method[] = [];
    for (const method of METHODS) {
        try {
            buildExplicit(chain, method, inventory);
            methods.push(method);
        } catch (error) {
            // Not available: nothing installed for it, or its calibration file was refused where
            // it entered (an adapter it names is not installed yet: a partial pack).
            const refused = inventory.refusedCalibrations?.some((file) => file.error === error) ?? false;
            if (!(error instanceof RecipeError) && !refused) throw error;
        }
    }
    return methods;
}

/**
 * How a chain runs with what is installed, decided here once; the CLI, the menus, Compose...
 * and the builder only display it.
 */
export interface ChainCapability {
    readonly chain: ChainKey;
    /** "Summarize → French" */
    readonly title: string;
    /** What "auto" runs. */
    readonly method: Method;
    /** Generation passes of the recipe (a long text may take several per pass, in parts). */
    readonly passes: number;
    /**
     * True when adapters trained for the whole chain do it in one pass: an LC / LC++ calibration,
     * a joint expert, or a single task's own adapter. False for multi-step and for a zero-shot
     * fallback, which is one pass of the base model without what the chain needs.
     */
    readonly onePass: boolean;
    /** Why it runs this way when it is a fallback (multi-step or zero-shot); null otherwise. */
    readonly note: string | null;
    /** Every method that can run it with what is installed (the "Method (advanced)" choices). */
    readonly methods: readonly Method[];
}

/** The methods whose one pass does the whole chain with adapters trained for it. */
function doesChainInOnePass(recipe: Recipe): boolean {
    switch (recipe.method) {
        case "lc":
        case "lc++":
        case "joint-expert":
            return true;
        case "main-lora":
        case "aux-lora":
            return !isComposite(recipe.chain);
        case "zero-shot":
        case "linear-merge":
        case "multi-step":
            return false;
    }
}

export function chainCapability(chain: TaskChain, inventory: Inventory): ChainCapability {
    const recipe = buildWithoutChunks(chain, "auto", inventory);
    return {
        chain: chainKey(chain),
        title: describeChain(chain),
        method: recipe.method,
        passes: recipe.passes.length,
        onePass: doesChainInOnePass(recipe),
        note: recipe.notes.length === 0 ? null : recipe.notes.join(" "),
        methods: availableMethods(chain, inventory),
    };
}

/**
 * Every chain a user can build (no main task or one, any set of tones, at most one language),
 * so no menu has to guess about a chain missing from the list: 191 with today's tasks.
 */
export function everyChain(): TaskChain[] {
    const chains: TaskChain[] = [];
    const toneTasks = TONES.map((tone) => `tone:${tone}` as const);
    for (const main of [null, ...MAIN_TASKS])
        for (let mask = 0; mask < 1 << toneTasks.length; mask++)
            for (const language of [null, ...LANGUAGES]) {
                const tones = toneTasks.filter((_, i) => (mask & (1 << i)) !== 0);
                const tasks = [
                    ...(main === null ? [] : [main]),
                    ...tones,
                    ...(language === null ? [] : [`translate:${language}` as const]),
                ];
                if (tasks.length > 0) chains.push(taskChain(tasks));
            }
    // Shortest first, so a listing reads single tasks, then pairs, then longer chains.
    return chains.sort((a, b) => chainTasks(a).length - chainTasks(b).length);
}

/** The capability of every chain a user can build. */
export function capabilities(inventory: Inventory): ChainCapability[] {
    return everyChain().map((chain) => chainCapability(chain, inventory));
}

/** A stable key for a pass's adapter mix: passes with equal keys can share a context. */
export function mixKey(pass: Pass): string {
    const parts = pass.adapters.map((use) => `${use.adapter.sha256}@${use.scale}`);
    if (pass.calibration !== null) parts.push(`cal:${pass.calibration.sha256}`);
    return parts.join("|") || "base";
}
