// Formality control, scored against CoCoA-MT's human formal and informal translations
// (lab/lab/eval/formality.py): "Translate to X, professional tone" and "Translate to X, casual
// tone" as the user would chain them, with every method the engine offers for those chains, plus
// translate:X alone (what the user gets without asking for a tone). Generated through the same
// path and cache as the quality run.

import type {Method} from "../engine/compose/methods";
import {type ChainKey, type Language, parseTaskChain} from "../engine/compose/taskChain";
import type {Engine} from "../engine/engine";
import type {CachedGeneration, GenerationCache} from "./cache";
import type {Progress} from "./progress";
import {runPythonJson} from "./python";
import {type ChainRun, generationSeconds, type PlannedGeneration, planChain, runQuality} from "./quality";
import {mean} from "./stats";

export type Formality = "formal" | "informal";

/** The chain a user builds for each request; `null`: no formality asked (translate:X alone). */
export const FORMALITY_CHAINS: readonly {wanted: Formality | null; chain: (lang: Language) => ChainKey}[] = [
    {wanted: null, chain: (lang) => `translate:${lang}` as ChainKey},
    {wanted: "formal", chain: (lang) => `tone:professional+translate:${lang}` as ChainKey},
    {wanted: "informal", chain: (lang) => `tone:casual+translate:${lang}` as ChainKey},
];

interface Segment {
    readonly id: string;
    readonly input: string;
    readonly formal: string;
    readonly informal: string;
    readonly formal_annotated: string;
    readonly informal_annotated: string;
}

interface FormalitySet {
    readonly seed: number;
    readonly n: number | null;
    readonly data_dir: string;
    readonly languages: Readonly<Partial<Record<Language, readonly Segment[]>>>;
}

type Label = Formality | "neutral" | "other";

interface SegmentScore {
    readonly chrf_formal: number;
    readonly chrf_informal: number;
    readonly formality: Label;
    readonly language: string;
}

export interface FormalityCell {
    readonly language: Language;
    readonly chain: ChainKey;
    readonly wanted: Formality | null;
    readonly method: Method;
    /** Other methods that make the same recipe (not run again). */
    readonly sameAs: readonly Method[];
    readonly passes: number;
    readonly n: number;
    readonly errors: number;
    readonly chrfFormal: number | null;
    readonly chrfInformal: number | null;
    /** Outputs per CoCoA-MT label (formal, informal, neutral: no marked phrase, other: both). */
    readonly labels: Readonly<Record<Label, number>>;
    /** Share labelled with the requested formality among those labelled formal or informal, in %. */
    readonly matchedAccuracy: number | null;
    readonly languageAccuracy: number | null;
}

export interface FormalityResults {
    readonly seed: number;
    readonly n: number | null;
    readonly dataDir: string;
    readonly segments: Readonly<Partial<Record<Language, number>>>;
    readonly cells: readonly FormalityCell[];
    readonly generations: number;
    /** Sum of the generations' recorded times (what they cost from an empty cache). */
    readonly generationSeconds: number;
    readonly example: {
        readonly id: string;
        readonly input: string;
        readonly formal: string;
        readonly informal: string;
        readonly outputs: Record<string, string>;
    } | null;
}

/** Matched accuracy as CoCoA-MT defines it: among outputs labelled formal or informal. */
export function matchedAccuracy(labels: Readonly<Record<Label, number>>, wanted: Formality): number | null {
    const decided = labels.formal + labels.informal;
    return decided > 0 ? (100 * labels[wanted]) / decided : null;
}

/** What the translation checks (formality here, news.ts) run with. */
export interface BenchRunOptions {
    readonly n: number;
    readonly seed: number;
    readonly dataDir: string | null;
    readonly languages: readonly Language[];
    readonly methods: readonly Method[] | null;
    readonly model: {fingerprint: string; sha256: string};
    readonly maxTokens: number;
}

export async function runFormality(
    root: string,
    engine: Engine,
    cache: GenerationCache,
    progress: Progress,
    options: BenchRunOptions,
): Promise<FormalityResults> {
    const args = [
        "data",
        "--n",
        String(options.n),
        "--seed",
        String(options.seed),
        "--langs",
        options.languages.join(","),
    ];
    if (options.dataDir !== null) args.push("--data-dir", options.dataDir);
    const set = await runPythonJson<FormalitySet>(root, "lab.eval.formality", args);

    const items: (PlannedGeneration & {source: Segment})[] = [];
    const planned: (ChainRun & {language: Language; wanted: Formality | null})[] = [];
    for (const language of options.languages) {
        for (const {wanted, chain} of FORMALITY_CHAINS) {
            const plan = planChain(engine, parseTaskChain(chain(language)), set.languages[language] ?? [], options);
            planned.push(...plan.runs.map((run) => ({...run, language, wanted})));
            items.push(...plan.items);
        }
    }
    const generations = await runQuality(engine, {items}, cache, progress, options.maxTokens, "formality");

    const ok = items.flatMap((item) => {
        const g = generations.get(item.key);
        return g === undefined || g.error !== null ? [] : [{item, g, s: item.source}];
    });
    const scored = await runPythonJson<{items: Record<string, SegmentScore>}>(root, "lab.eval.formality", ["score"], {
        items: ok.map(({item, g, s}) => ({
            key: item.key,
            output: g.text,
            formal: s.formal,
            informal: s.informal,
            formal_annotated: s.formal_annotated,
            informal_annotated: s.informal_annotated,
        })),
    });

    const cells = planned.map((p): FormalityCell => {
        const mine = items.filter((i) => i.variant === p.chain && i.method === p.method);
        const gens = mine.map((i) => generations.get(i.key)).filter((g): g is CachedGeneration => g !== undefined);
        const scores = mine.map((i) => scored.items[i.key]).filter((s): s is SegmentScore => s !== undefined);
        const labels: Record<Label, number> = {formal: 0, informal: 0, neutral: 0, other: 0};
        for (const s of scores) labels[s.formality]++;
        return {
            ...p,
            n: scores.length,
            errors: gens.filter((g) => g.error !== null).length,
            chrfFormal: mean(scores.map((s) => s.chrf_formal)),
            chrfInformal: mean(scores.map((s) => s.chrf_informal)),
            labels,
            matchedAccuracy: p.wanted === null ? null : matchedAccuracy(labels, p.wanted),
            languageAccuracy:
                scores.length > 0
                    ? (100 * scores.filter((s) => s.language === p.language).length) / scores.length
                    : null,
        };
    });

    const first = options.languages.map((l) => set.languages[l]?.[0]).find((s) => s !== undefined);
    const example =
        first === undefined
            ? null
            : {
                  id: first.id,
                  input: first.input,
                  formal: first.formal,
                  informal: first.informal,
                  outputs: Object.fromEntries(
                      items
                          .filter((i) => i.id === first.id)
                          .map((i) => [`${i.variant} ${i.method}`, generations.get(i.key)?.text ?? ""]),
                  ),
              };
    return {
        seed: set.seed,
        n: set.n,
        dataDir: set.data_dir,
        segments: Object.fromEntries(options.languages.map((l) => [l, set.languages[l]?.length ?? 0])),
        cells,
        generations: generations.size,
        generationSeconds: generationSeconds(generations),
        example,
    };
}
