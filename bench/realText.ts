// The real-text section: every command a user has, on human-written text of several genres that
// no adapter the command runs was trained on (lab/lab/eval/realtext.py picks it), generated the
// way the editor does (Engine.compose, method "auto", the engine's own token budget), cached, and
// judged: broken outputs and why (bench/brokenOutput.ts), chrF where a human translation of the
// same text exists, output/input length.

import {buildRecipe, type Inventory} from "../engine/compose/recipe";
import {type ChainKey, LANGUAGES, type Language, parseTaskChain} from "../engine/compose/taskChain";
import type {Engine} from "../engine/engine";
import type {Decoding} from "../engine/runtime/decoding";
import {
    BROKEN_REASONS,
    type BrokenReason,
    brokenReasons,
    CONTENT_FLOOR,
    type Finding,
    languageSample,
} from "./brokenOutput";
import {type CachedGeneration, type GenerationCache, generationKey, recipeConfigHash} from "./cache";
import type {Progress} from "./progress";
import {runPythonJson} from "./python";
import {type GenerationRequest, generationSeconds, runQuality} from "./quality";
import {COMMANDS, GENRES, type Genre, type RealTextPlanShape} from "./realTextCommands";
import {mean, quantile} from "./stats";

export interface RealTextItem {
    readonly id: string;
    readonly genre: Genre;
    readonly text: string;
    /** Where it comes from: a URL, or data set and id. */
    readonly source: string;
    /** Human translations of the same text, per language (CoCoA-MT: formal and informal). */
    readonly references: Readonly<Partial<Record<Language, readonly string[]>>>;
    readonly words: number;
}

export interface RealTextSet {
    readonly seed: number;
    readonly data_dir: string;
    readonly files: readonly {path: string; sha256: string}[];
    /** Genres whose data set could not be had, and why (lab.data.store's message). */
    readonly missing: Readonly<Partial<Record<Genre, string>>>;
    /** Candidate inputs per genre before the held-out rule and the sample. */
    readonly pools: Readonly<Partial<Record<Genre, number>>>;
    readonly items: Readonly<Record<string, RealTextItem>>;
    /** genre -> command -> the item ids it runs on. */
    readonly selection: Readonly<Partial<Record<Genre, Readonly<Record<string, readonly string[]>>>>>;
}

export async function loadRealTextSet(
    root: string,
    shape: RealTextPlanShape,
    options: {seed: number; dataDir: string | null},
): Promise<RealTextSet> {
    return runPythonJson<RealTextSet>(root, "lab.eval.realtext", ["data"], {
        commands: shape.commands,
        n: shape.inputs,
        seed: options.seed,
        data_dir: options.dataDir,
        shortest: shape.shortest,
    });
}

export interface RealTextRequest extends GenerationRequest {
    readonly genre: Genre;
}

/**
 * One generation per (command, genre, input), grouped by command so the engine's contexts are
 * reused. Method "auto" as in the editor; the key holds the recipe "auto" resolves to and the
 * engine's budget, so a new pack or engine setting regenerates.
 */
export function planRealText(
    set: RealTextSet,
    inventory: Inventory,
    model: {fingerprint: string; sha256: string},
    engineMaxTokens: number | null,
    decoding: Decoding,
): RealTextRequest[] {
    const requests: RealTextRequest[] = [];
    for (const command of COMMANDS) {
        const recipe = buildRecipe(parseTaskChain(command), "auto", inventory);
        const configHash = recipeConfigHash(recipe, model, engineMaxTokens, decoding);
        for (const genre of GENRES)
            for (const id of set.selection[genre]?.[command] ?? []) {
                const item = set.items[id];
                if (item === undefined) throw new Error(`real-text selection names an unknown item ${id}`);
                requests.push({
                    variant: command,
                    method: "auto",
                    genre,
                    id,
                    input: item.text,
                    key: generationKey(command, "auto", item.text, configHash),
                });
            }
    }
    return requests;
}

/** The translation language of a translate:X command alone (the one chrF is measured for). */
function translationOnly(command: string): Language | null {
    return LANGUAGES.find((code) => command === `translate:${code}`) ?? null;
}

function expectedLanguage(command: string): string {
    return LANGUAGES.find((code) => command.split("+").includes(`translate:${code}`)) ?? "en";
}

interface PythonScore {
    readonly language: string;
    readonly chrf: number | null;
}

/** Language ID (Lingua for es/fr/de, English when langid or Lingua says so) and chrF, in one Python call. */
async function scoreOutputs(
    root: string,
    requests: readonly RealTextRequest[],
    set: RealTextSet,
    generations: ReadonlyMap<string, CachedGeneration>,
): Promise<Record<string, PythonScore>> {
    const items = requests.flatMap((r) => {
        const g = generations.get(r.key);
        if (g === undefined || g.error !== null || g.text.trim() === "") return [];
        const lang = translationOnly(r.variant);
        return [
            {
                key: r.key,
                // chrF scores the output as it is; the language is identified on each sentence once.
                output: g.text,
                language_sample: languageSample(g.text),
                language: expectedLanguage(r.variant),
                references: lang === null ? [] : (set.items[r.id]?.references[lang] ?? []),
            },
        ];
    });
    if (items.length === 0) return {};
    return (await runPythonJson<{items: Record<string, PythonScore>}>(root, "lab.eval.realtext", ["score"], {items}))
        .items;
}

export interface JudgedOutput {
    readonly command: ChainKey;
    readonly genre: Genre;
    readonly id: string;
    /** What "auto" ran. */
    readonly method: string;
    readonly passes: number;
    /** Each pass's stop reason as the engine reported it, and its generated tokens. */
    readonly stops: readonly {readonly stopReason: string; readonly generatedTokens: number}[];
    readonly findings: readonly Finding[];
    /** Output words / input words. */
    readonly lengthRatio: number;
    readonly chrf: number | null;
    readonly generatedTokens: number;
    readonly seconds: number;
}

/** Applies the classifier to every generation (pure; the Python scores come in). */
export function judge(
    requests: readonly RealTextRequest[],
    generations: ReadonlyMap<string, CachedGeneration>,
    scores: Readonly<Record<string, PythonScore>>,
    budget: number | null,
): JudgedOutput[] {
    const wordCount = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length;
    return requests.flatMap((r) => {
        const g = generations.get(r.key);
        if (g === undefined) return [];
        const score = scores[r.key];
        const findings = brokenReasons(parseTaskChain(r.variant), r.input, g.text, {
            error: g.error,
            passes: g.passes,
            budget,
            cutAtBudget: g.cutAtBudget ?? null,
            detectedLanguage: score?.language ?? null,
        });
        return [
            {
                command: r.variant as ChainKey,
                genre: r.genre,
                id: r.id,
                method: g.ranAs ?? g.method,
                passes: g.passes.length,
                stops: g.passes.map(({stopReason, generatedTokens}) => ({stopReason, generatedTokens})),
                findings,
                lengthRatio: wordCount(g.text) / Math.max(1, wordCount(r.input)),
                chrf: score?.chrf ?? null,
                generatedTokens: g.passes.reduce((sum, p) => sum + p.generatedTokens, 0),
                seconds: g.totalMs / 1000,
            },
        ];
    });
}

export type ReasonCounts = Readonly<Partial<Record<BrokenReason, number>>>;

export interface BrokenTally {
    readonly n: number;
    readonly broken: number;
    /** Outputs with each reason (an output can have several). */
    readonly reasons: ReasonCounts;
}

/** Examples keep the head of their input (the whole text is at its source) and the whole output. */
const EXAMPLE_INPUT_CHARS = 600;

export interface RealTextExample {
    readonly id: string;
    readonly source: string;
    /** The input's first EXAMPLE_INPUT_CHARS characters. */
    readonly input: string;
    readonly output: string;
    readonly findings: readonly Finding[];
}

export interface RealTextCell extends BrokenTally {
    readonly command: ChainKey;
    readonly genre: Genre;
    /** The methods "auto" ran, with how many outputs each (failed requests left out). */
    readonly methods: Readonly<Record<string, number>>;
    readonly passes: number;
    readonly chrf: number | null;
    readonly chrfN: number;
    readonly lengthRatio: {readonly median: number; readonly p25: number; readonly p75: number} | null;
    readonly meanGeneratedTokens: number | null;
    readonly meanSeconds: number | null;
    readonly examples: readonly RealTextExample[];
}

export function tally(outputs: readonly JudgedOutput[]): BrokenTally {
    const reasons: Partial<Record<BrokenReason, number>> = {};
    for (const o of outputs)
        for (const f of new Set(o.findings.map((x) => x.reason))) reasons[f] = (reasons[f] ?? 0) + 1;
    return {
        n: outputs.length,
        broken: outputs.filter((o) => o.findings.length > 0).length,
        reasons: Object.fromEntries(BROKEN_REASONS.filter((r) => reasons[r] !== undefined).map((r) => [r, reasons[r]])),
    };
}

/** Per command x genre, with two examples each: the first broken output and the first sound one. */
export function cells(
    judged: readonly JudgedOutput[],
    set: RealTextSet,
    generations: ReadonlyMap<string, CachedGeneration>,
    requests: readonly RealTextRequest[],
): RealTextCell[] {
    const keyOf = new Map(requests.map((r) => [`${r.variant}|${r.genre}|${r.id}`, r.key]));
    const out: RealTextCell[] = [];
    for (const command of COMMANDS)
        for (const genre of GENRES) {
            const mine = judged.filter((j) => j.command === command && j.genre === genre);
            if (mine.length === 0) continue;
            const methods: Record<string, number> = {};
            for (const j of mine)
                if (!j.findings.some((f) => f.reason === "error")) methods[j.method] = (methods[j.method] ?? 0) + 1;
            const chrfs = mine.flatMap((j) => (j.chrf === null ? [] : [j.chrf]));
            const ratios = mine
                .filter((j) => !j.findings.some((f) => f.reason === "error"))
                .map((j) => j.lengthRatio)
                .sort((a, b) => a - b);
            const picked = [mine.find((j) => j.findings.length > 0), mine.find((j) => j.findings.length === 0)];
            const examples = (picked.every((p) => p === undefined) ? mine.slice(0, 2) : picked).flatMap((j) => {
                if (j === undefined) return [];
                const item = set.items[j.id];
                const g = generations.get(keyOf.get(`${command}|${genre}|${j.id}`) ?? "");
                if (item === undefined) return [];
                const input =
                    item.text.length > EXAMPLE_INPUT_CHARS ? `${item.text.slice(0, EXAMPLE_INPUT_CHARS)}…` : item.text;
                return [{id: j.id, source: item.source, input, output: g?.text ?? "", findings: j.findings}];
            });
            out.push({
                command,
                genre,
                ...tally(mine),
                methods,
                passes: Math.max(...mine.map((j) => j.passes)),
                chrf: mean(chrfs),
                chrfN: chrfs.length,
                lengthRatio:
                    ratios.length === 0
                        ? null
                        : {median: quantile(ratios, 0.5), p25: quantile(ratios, 0.25), p75: quantile(ratios, 0.75)},
                meanGeneratedTokens: mean(mine.map((j) => j.generatedTokens)),
                meanSeconds: mean(mine.map((j) => j.seconds)),
                examples,
            });
        }
    return out;
}

export interface RealTextResults {
    readonly seed: number;
    readonly dataDir: string;
    readonly files: RealTextSet["files"];
    readonly missing: RealTextSet["missing"];
    readonly pools: RealTextSet["pools"];
    /** Inputs per genre asked for (each command gets up to this many of the inputs it may see). */
    readonly inputsPerCommand: RealTextPlanShape["inputs"];
    /** Distinct inputs used per genre, with their words (min, median, max). */
    readonly genres: Readonly<Partial<Record<Genre, {inputs: number; words: [number, number, number]}>>>;
    /** The engine the commands ran on: its defaults, as a user's. */
    readonly engine: {
        readonly contextSize: number;
        /** The engine's configured limit on every generation; null: each task's own budget (engine/compose/length.ts). */
        readonly maxTokens: number | null;
        readonly threads: number | null;
    };
    /** Outputs with a generation the engine's loop guard stopped (stop reason "repetition"). */
    readonly stoppedByLoopGuard: number;
    /** Outputs with a rewrite generation stopped after its input's sentences (stop reason "overrun"). */
    readonly stoppedAtSentenceLimit?: number;
    /** Outputs with a generation the script guard stopped (stop reason "off-script"). */
    readonly stoppedByScriptGuard?: number;
    readonly contentFloor: typeof CONTENT_FLOOR;
    readonly cells: readonly RealTextCell[];
    readonly totals: {
        readonly byCommand: Readonly<Record<string, BrokenTally>>;
        readonly byGenre: Readonly<Record<string, BrokenTally>>;
        readonly overall: BrokenTally;
    };
    /** Every output's verdict (no text), for before/after comparisons input by input. */
    readonly outputs: readonly Omit<JudgedOutput, "generatedTokens" | "seconds">[];
    readonly generations: number;
    readonly generationSeconds: number;
}

export function totals(judged: readonly JudgedOutput[]): RealTextResults["totals"] {
    const by = (key: (j: JudgedOutput) => string) => {
        const groups = new Map<string, JudgedOutput[]>();
        for (const j of judged) groups.set(key(j), [...(groups.get(key(j)) ?? []), j]);
        return Object.fromEntries([...groups].map(([k, v]) => [k, tally(v)]));
    };
    return {byCommand: by((j) => j.command), byGenre: by((j) => j.genre), overall: tally(judged)};
}

export async function runRealText(
    root: string,
    engine: Engine,
    cache: GenerationCache,
    progress: Progress,
    options: {
        shape: RealTextPlanShape;
        seed: number;
        dataDir: string | null;
        model: {fingerprint: string; sha256: string};
    },
): Promise<RealTextResults> {
    const set = await loadRealTextSet(root, options.shape, options);
    const limit = engine.config.maxTokens ?? null;
    const requests = planRealText(set, engine.installed, options.model, limit, engine.decoding);
    // No maxTokens in the request: the engine decides the budget, as for the editor's requests.
    const generations = await runQuality(engine, {items: requests}, cache, progress, null, "real-text");
    progress.note(`judging ${generations.size} real-text outputs`);
    const scores = await scoreOutputs(root, requests, set, generations);
    // A configured limit is a budget the classifier can check stop reasons against (the engine
    // before 2026-12-04 said "max-tokens" for every generation); without one each task has its own
    // budget and the engine's cutAtBudget says whether the answer was cut.
    const judged = judge(requests, generations, scores, limit);
    const genres: Partial<Record<Genre, {inputs: number; words: [number, number, number]}>> = {};
    for (const genre of GENRES) {
        const ids = [...new Set(requests.filter((r) => r.genre === genre).map((r) => r.id))];
        const counts = ids.map((id) => set.items[id]?.words ?? 0).sort((a, b) => a - b);
        if (ids.length > 0)
            genres[genre] = {
                inputs: ids.length,
                words: [counts[0] ?? 0, quantile(counts, 0.5), counts[counts.length - 1] ?? 0],
            };
    }
    return {
        seed: set.seed,
        dataDir: set.data_dir,
        files: set.files,
        missing: set.missing,
        pools: set.pools,
        inputsPerCommand: options.shape.inputs,
        genres,
        engine: {
            contextSize: engine.config.contextSize,
            maxTokens: limit,
            threads: engine.config.threads ?? null,
        },
        contentFloor: CONTENT_FLOOR,
        stoppedByLoopGuard: judged.filter((j) => j.stops.some((s) => s.stopReason === "repetition")).length,
        stoppedAtSentenceLimit: judged.filter((j) => j.stops.some((s) => s.stopReason === "overrun")).length,
        stoppedByScriptGuard: judged.filter((j) => j.stops.some((s) => s.stopReason === "off-script")).length,
        cells: cells(judged, set, generations, requests),
        totals: totals(judged),
        outputs: judged.map(({generatedTokens: _t, seconds: _s, ...rest}) => rest),
        generations: generations.size,
        generationSeconds: generationSeconds(generations),
    };
}
