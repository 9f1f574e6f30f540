// The translation adapters against human news translations (NTREX, lab/lab/eval/news.py):
// translate:X alone with every method the engine offers for it, chrF and language share.
// A check under the composites, generated through the same path and cache as the quality run.

import type {Language} from "../engine/compose/taskChain";
import {parseTaskChain} from "../engine/compose/taskChain";
import type {Engine} from "../engine/engine";
import type {GenerationCache} from "./cache";
import type {BenchRunOptions} from "./formality";
import type {Progress} from "./progress";
import {runPythonJson} from "./python";
import {type ChainRun, generationSeconds, type PlannedGeneration, planChain, runQuality} from "./quality";
import {mean} from "./stats";

interface Sentence {
    readonly id: string;
    readonly document: string;
    readonly input: string;
    readonly reference: string;
}

export interface NewsCell extends ChainRun {
    readonly language: Language;
    readonly n: number;
    readonly errors: number;
    /** Mean sentence chrF against the human translation, in %. */
    readonly chrf: number | null;
    readonly languageAccuracy: number | null;
}

export interface NewsResults {
    readonly dataDir: string;
    readonly sentences: Readonly<Partial<Record<Language, number>>>;
    readonly cells: readonly NewsCell[];
    readonly generations: number;
    readonly generationSeconds: number;
}

export async function runNews(
    root: string,
    engine: Engine,
    cache: GenerationCache,
    progress: Progress,
    options: BenchRunOptions,
): Promise<NewsResults> {
    const args = ["data", "--n", String(options.n), "--seed", String(options.seed)];
    args.push("--langs", options.languages.join(","));
    if (options.dataDir !== null) args.push("--data-dir", options.dataDir);
    const set = await runPythonJson<{data_dir: string; languages: Partial<Record<Language, Sentence[]>>}>(
        root,
        "lab.eval.news",
        args,
    );
    const items: (PlannedGeneration & {source: Sentence; language: Language})[] = [];
    const runs: (ChainRun & {language: Language})[] = [];
    for (const language of options.languages) {
        const chain = parseTaskChain(`translate:${language}`);
        const plan = planChain(engine, chain, set.languages[language] ?? [], options);
        runs.push(...plan.runs.map((run) => ({...run, language})));
        items.push(...plan.items.map((item) => ({...item, language})));
    }
    const generations = await runQuality(engine, {items}, cache, progress, options.maxTokens, "news");
    const scored = await runPythonJson<{items: Record<string, {chrf: number; language_ok: boolean}>}>(
        root,
        "lab.eval.news",
        ["score"],
        {
            items: items.flatMap((item) => {
                const g = generations.get(item.key);
                if (g === undefined || g.error !== null) return [];
                return [{key: item.key, output: g.text, reference: item.source.reference, language: item.language}];
            }),
        },
    );
    const cells = runs.map((run): NewsCell => {
        const mine = items.filter((i) => i.variant === run.chain && i.method === run.method);
        const scores = mine.flatMap((i) => scored.items[i.key] ?? []);
        return {
            ...run,
            n: scores.length,
            errors: mine.filter((i) => generations.get(i.key)?.error != null).length,
            chrf: mean(scores.map((s) => s.chrf)),
            languageAccuracy:
                scores.length > 0 ? (100 * scores.filter((s) => s.language_ok).length) / scores.length : null,
        };
    });
    return {
        dataDir: set.data_dir,
        sentences: Object.fromEntries(options.languages.map((l) => [l, set.languages[l]?.length ?? 0])),
        cells,
        generations: generations.size,
        generationSeconds: generationSeconds(generations),
    };
}
