// Scores the cached generations in one Python call (lab/lab/eval/score.py) and averages them
// per variant x method and per group x method, as the paper's Table 1 does.

import type {CachedGeneration} from "./cache";
import type {EvalSet} from "./evalSet";
import {type PairedDifference, pairedDifference} from "./pairedDifference";
import {runPythonJson} from "./python";
import type {QualityPlan} from "./quality";
import {mean} from "./stats";

interface ItemScore {
    readonly main: number | null;
    readonly main_without_placeholders: number | null;
    readonly chrf: number | null;
    readonly language: string;
    readonly language_ok: boolean;
    readonly looping: boolean;
    readonly tone: string | null;
    readonly tone_ok: boolean | null;
}

/** The lab's tone classifier and its own held-out accuracy (lab/lab/eval/tone.py). */
export interface ToneClassifierInfo {
    readonly accuracy: number;
    readonly test_texts: number;
    readonly train_texts: number;
    readonly sentences: number;
    readonly confusion: Record<string, Record<string, number>>;
    readonly model: string;
}

interface ScoreOutput {
    readonly items: Record<string, ItemScore>;
    readonly versions: Record<string, string>;
    readonly langid_candidates: string[];
    readonly tone_classifier: ToneClassifierInfo | null;
}

export interface CellScores {
    /** Generations scored (errors excluded). */
    readonly n: number;
    readonly errors: number;
    /** ROUGE-L F1 (summaries) or weighted ROUGE (replies) vs composite references; null without references. */
    readonly main: number | null;
    readonly mainN: number;
    readonly chrf: number | null;
    readonly chrfN: number;
    readonly language_accuracy: number | null;
    /** Share of outputs the tone classifier labels with the requested tone; null for translations. */
    readonly tone_accuracy: number | null;
    /** Share of outputs ending in a degenerate repetition (greedy decoding's failure mode), in %. */
    readonly looping: number | null;
    readonly meanGeneratedTokens: number | null;
    readonly meanLatencyMs: number | null;
}

export interface QualityScores {
    readonly variants: Record<string, Record<string, CellScores>>;
    /** Group -> method -> mean over the group's variants of the per-variant means. */
    readonly groups: Record<
        string,
        Record<
            string,
            {
                main: number | null;
                language_accuracy: number | null;
                tone_accuracy: number | null;
                chrf: number | null;
                variants: number;
            }
        >
    >;
    /** Variant -> baseline -> LC++ minus that baseline on the main metric, per input, with its interval. */
    readonly lcppAgainst: Record<string, Record<string, PairedDifference>>;
    /** Variant -> method -> input id -> main score: what a later run compares itself with (`--baseline`). */
    readonly perInput: Record<string, Record<string, Record<string, number>>>;
    /**
     * As perInput, with DialogSum's speaker placeholders ("#Persona1# invita a Bill") taken out of
     * references and outputs where a reference has them: a pack that names people, as users need,
     * is then not marked down for it. Absent in older runs.
     */
    readonly perInputWithoutPlaceholders?: Record<string, Record<string, Record<string, number>>>;
    readonly versions: Record<string, string>;
    readonly langidCandidates: string[];
    readonly toneClassifier: ToneClassifierInfo | null;
}

/**
 * Variant -> method -> this run minus a baseline run on the inputs both scored, with its paired
 * interval: e.g. the default decoding against the paper's greedy-only decoding.
 */
export function compareWithRun(
    current: QualityScores["perInput"],
    baseline: QualityScores["perInput"],
): Record<string, Record<string, PairedDifference>> {
    const result: Record<string, Record<string, PairedDifference>> = {};
    for (const [variant, methods] of Object.entries(current))
        for (const [method, scores] of Object.entries(methods)) {
            const before = baseline[variant]?.[method];
            if (before === undefined) continue;
            const ids = Object.keys(scores).filter((id) => before[id] !== undefined);
            if (ids.length < 2) continue;
            result[variant] ??= {};
            result[variant][method] = pairedDifference(
                ids.map((id) => scores[id] as number),
                ids.map((id) => before[id] as number),
            );
        }
    return result;
}

/** This run against a `--baseline` run: compareWithRun on the main metric, and without placeholders. */
export interface AgainstBaseline {
    readonly file: string;
    readonly byVariant: Record<string, Record<string, PairedDifference>>;
    /** The same on perInputWithoutPlaceholders; null when the baseline run has none (older runs). */
    readonly byVariantWithoutPlaceholders?: Record<string, Record<string, PairedDifference>> | null;
}

export function compareWithBaseline(
    file: string,
    current: Pick<QualityScores, "perInput" | "perInputWithoutPlaceholders">,
    baseline: Pick<QualityScores, "perInput" | "perInputWithoutPlaceholders">,
): AgainstBaseline {
    const withoutPlaceholders =
        current.perInputWithoutPlaceholders === undefined || baseline.perInputWithoutPlaceholders === undefined
            ? null
            : compareWithRun(current.perInputWithoutPlaceholders, baseline.perInputWithoutPlaceholders);
    return {
        file,
        byVariant: compareWithRun(current.perInput, baseline.perInput),
        byVariantWithoutPlaceholders: withoutPlaceholders,
    };
}

/** The baselines of the quality goal: one pass must beat the merge and match two passes. */
const COMPARED_WITH_LCPP = ["linear-merge", "multi-step"] as const;

/**
 * Per variant, LC++ against each of COMPARED_WITH_LCPP on the inputs both have a main score for
 * (`mainOf(item key)`); variants with fewer than two such inputs are left out.
 */
export function compareWithLcpp(
    plan: Pick<QualityPlan, "items" | "methods">,
    mainOf: (key: string) => number | null,
): QualityScores["lcppAgainst"] {
    const mainById = (variant: string, method: string) =>
        new Map(
            plan.items
                .filter((i) => i.variant === variant && i.method === method)
                .flatMap((i) => {
                    const main = mainOf(i.key);
                    return main === null ? [] : [[i.id, main] as const];
                }),
        );
    const result: QualityScores["lcppAgainst"] = {};
    for (const variant of Object.keys(plan.methods)) {
        const lcpp = mainById(variant, "lc++");
        for (const baseline of COMPARED_WITH_LCPP) {
            const other = mainById(variant, baseline);
            const ids = [...lcpp.keys()].filter((id) => other.has(id));
            if (ids.length < 2) continue;
            result[variant] ??= {};
            result[variant][baseline] = pairedDifference(
                ids.map((id) => lcpp.get(id) as number),
                ids.map((id) => other.get(id) as number),
            );
        }
    }
    return result;
}

function mainScoresById(
    plan: Pick<QualityPlan, "items">,
    mainOf: (key: string) => number | null,
): QualityScores["perInput"] {
    const result: QualityScores["perInput"] = {};
    for (const item of plan.items) {
        const main = mainOf(item.key);
        if (main === null) continue;
        result[item.variant] ??= {};
        const byMethod = result[item.variant] as Record<string, Record<string, number>>;
        byMethod[item.method] ??= {};
        (byMethod[item.method] as Record<string, number>)[item.id] = main;
    }
    return result;
}

/** Percentage of true among the defined values; null when none is defined. */
function share(values: readonly (boolean | null)[]): number | null {
    const defined = values.filter((v): v is boolean => v !== null);
    return defined.length > 0 ? (100 * defined.filter(Boolean).length) / defined.length : null;
}

export async function scoreQuality(
    root: string,
    evalSet: EvalSet,
    plan: QualityPlan,
    generations: ReadonlyMap<string, CachedGeneration>,
): Promise<QualityScores> {
    const examples = new Map<string, {references: readonly string[]; human: readonly string[]}>();
    for (const [variant, data] of Object.entries(evalSet.variants))
        for (const e of data.examples)
            examples.set(`${variant}|${e.id}`, {references: e.references, human: e.human_references ?? []});
    const items = plan.items.flatMap((item) => {
        const generation = generations.get(item.key);
        const data = evalSet.variants[item.variant];
        const example = examples.get(`${item.variant}|${item.id}`);
        if (generation === undefined || generation.error !== null || data === undefined || example === undefined)
            return [];
        return [
            {
                key: item.key,
                output: generation.text,
                metric: data.metric,
                references: example.references,
                human_references: example.human,
                language: data.language,
                tone: data.tone,
            },
        ];
    });
    const scored = await runPythonJson<ScoreOutput>(root, "lab.eval.score", [], {items});

    const variants: Record<string, Record<string, CellScores>> = {};
    for (const [variant, methods] of Object.entries(plan.methods)) {
        variants[variant] = {};
        for (const {method} of methods) {
            const mine = plan.items.filter((i) => i.variant === variant && i.method === method);
            const gens = mine.map((i) => generations.get(i.key)).filter((g): g is CachedGeneration => g !== undefined);
            const scores = mine.map((i) => scored.items[i.key]).filter((s): s is ItemScore => s !== undefined);
            const mains = scores.map((s) => s.main).filter((v): v is number => v !== null);
            const chrfs = scores.map((s) => s.chrf).filter((v): v is number => v !== null);
            const ok = gens.filter((g) => g.error === null);
            variants[variant][method] = {
                n: scores.length,
                errors: gens.length - ok.length,
                main: mean(mains),
                mainN: mains.length,
                chrf: mean(chrfs),
                chrfN: chrfs.length,
                language_accuracy:
                    scores.length > 0 ? (100 * scores.filter((s) => s.language_ok).length) / scores.length : null,
                tone_accuracy: share(scores.map((s) => s.tone_ok)),
                looping: share(scores.map((s) => s.looping)),
                meanGeneratedTokens: mean(ok.map((g) => g.passes.at(-1)?.generatedTokens ?? 0)),
                meanLatencyMs: mean(ok.map((g) => g.totalMs)),
            };
        }
    }
    const groups: QualityScores["groups"] = {};
    const groupMean = (cells: CellScores[], key: "main" | "language_accuracy" | "tone_accuracy" | "chrf") =>
        mean(cells.map((c) => c[key]).filter((v): v is number => v !== null));
    for (const group of new Set(Object.values(evalSet.variants).map((v) => v.group))) {
        const inGroup = Object.entries(variants).filter(([v]) => evalSet.variants[v]?.group === group);
        const methods = new Set(inGroup.flatMap(([, m]) => Object.keys(m)));
        const byMethod: QualityScores["groups"][string] = {};
        for (const method of methods) {
            const cells = inGroup.map(([, m]) => m[method]).filter((c): c is CellScores => c !== undefined);
            byMethod[method] = {
                main: groupMean(cells, "main"),
                language_accuracy: groupMean(cells, "language_accuracy"),
                tone_accuracy: groupMean(cells, "tone_accuracy"),
                chrf: groupMean(cells, "chrf"),
                variants: cells.length,
            };
        }
        groups[group] = byMethod;
    }
    return {
        variants,
        groups,
        lcppAgainst: compareWithLcpp(plan, (key) => scored.items[key]?.main ?? null),
        perInput: mainScoresById(plan, (key) => scored.items[key]?.main ?? null),
        perInputWithoutPlaceholders: mainScoresById(
            plan,
            (key) => scored.items[key]?.main_without_placeholders ?? null,
        ),
        versions: scored.versions,
        langidCandidates: scored.langid_candidates,
        toneClassifier: scored.tone_classifier,
    };
}
