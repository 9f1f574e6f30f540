// The real work, timed: what a user waits for on held-out real text with the engine's defaults.
// An email summarized to French (method auto: the calibrated composite, one pass) next to two
// passes (multi-step), and a casual reply to an email (auto: the reply, then the tone, since
// 2026-12-06) next to the calibrated one pass (LC++); each next to the lab's PyTorch path of the
// calibrated composite (lab/lab/eval/peer.py); and the longest held-out document summarized
// (in parts). Per run: the time to the first text the user sees (summaries and replies stream a
// sentence at a time, so this is the first sentence) and to the whole answer.

import type {ComposeResult} from "../engine/compose/composer";
import type {MethodChoice} from "../engine/compose/methods";
import {buildRecipe} from "../engine/compose/recipe";
import {type ChainKey, parseTaskChain} from "../engine/compose/taskChain";
import type {Engine} from "../engine/engine";
import type {Progress} from "./progress";
import {runPythonJson} from "./python";
import {loadRealTextSet} from "./realText";
import {type Summary, summarize} from "./stats";

export interface WorkItem {
    readonly name: string;
    readonly chain: ChainKey;
    readonly genre: "email" | "long";
    /** Methods timed side by side on the same inputs; the first is what users get. */
    readonly methods: readonly MethodChoice[];
    /** Also time the lab's PyTorch implementation of the calibrated composite's one pass (LC++). */
    readonly pytorch: boolean;
}

export const WORK: readonly WorkItem[] = [
    {
        name: "an email summarized to French",
        chain: "summarize+translate:fr" as ChainKey,
        genre: "email",
        methods: ["auto", "multi-step"],
        pytorch: true,
    },
    {
        name: "a casual reply to an email",
        chain: "reply+tone:casual" as ChainKey,
        genre: "email",
        methods: ["auto", "lc++"],
        pytorch: true,
    },
    // The PyTorch path has no summary in parts (the lab summarizes what fits one prompt).
    {
        name: "a long document summarized",
        chain: "summarize" as ChainKey,
        genre: "long",
        methods: ["auto"],
        pytorch: false,
    },
];

export interface WorkRun {
    readonly input: string;
    readonly ranAs: string;
    /** From the request to the first streamed text (ms). */
    readonly firstTextMs: number;
    /** From the request to the first token, for an answer made in one generation (else null). */
    readonly firstTokenMs: number | null;
    readonly totalMs: number;
    readonly generations: number;
    readonly generatedTokens: number;
}

export interface WorkSide {
    readonly method: string;
    readonly runs: readonly WorkRun[];
    readonly firstTextMs: Summary;
    readonly firstTokenMs: Summary;
    readonly totalMs: Summary;
    readonly generatedTokens: Summary;
}

export interface WorkResults {
    readonly item: WorkItem;
    readonly inputs: readonly {id: string; words: number}[];
    readonly sides: readonly WorkSide[];
    /**
     * Medians of per-input ratios of the first side (what users get) to each other side: below 1,
     * users wait less. Keyed by the other side's method.
     */
    readonly ratios: Readonly<Record<string, {firstText: number; total: number}>>;
}

export interface RealWorkResults {
    readonly threads: number;
    readonly emails: number;
    readonly items: readonly WorkResults[];
    readonly wallSeconds: number;
}

export interface RealWorkOptions {
    readonly root: string;
    readonly modelPath: string;
    readonly threads: number;
    readonly emails: number;
    readonly seed: number;
    readonly dataDir: string | null;
    /** Only these items (by chain key); default every item. */
    readonly only?: readonly ChainKey[];
    /** Time the PyTorch path where the item asks for it (default true). */
    readonly pytorch?: boolean;
}

async function timed(
    engine: Engine,
    chain: ChainKey,
    method: MethodChoice,
    input: {id: string; text: string},
): Promise<WorkRun> {
    const started = performance.now();
    let firstAt: number | null = null;
    const result: ComposeResult = await engine.compose(
        {chain: parseTaskChain(chain), method, input: input.text},
        {
            onText: (text) => {
                if (firstAt === null && text.trim().length > 0) firstAt = performance.now();
            },
        },
    );
    const ended = performance.now();
    const [only, ...more] = result.passes;
    return {
        input: input.id,
        ranAs: result.method,
        firstTextMs: (firstAt ?? ended) - started,
        firstTokenMs: only !== undefined && more.length === 0 ? ended - started - only.generation.decodeMs : null,
        totalMs: ended - started,
        generations: result.passes.length,
        generatedTokens: result.passes.reduce((sum, p) => sum + p.generation.generatedTokens, 0),
    };
}

function side(method: string, runs: readonly WorkRun[]): WorkSide {
    return {
        method,
        runs,
        firstTextMs: summarize(runs.map((r) => r.firstTextMs)),
        firstTokenMs: summarize(runs.map((r) => r.firstTokenMs ?? Number.NaN)),
        totalMs: summarize(runs.map((r) => r.totalMs)),
        generatedTokens: summarize(runs.map((r) => r.generatedTokens)),
    };
}

/** The lab's PyTorch path on the engine's LC++ pass: prompt, adapters, calibration, budget and threads. */
async function pytorchSide(
    engine: Engine,
    item: WorkItem,
    inputs: readonly {id: string; text: string}[],
    options: RealWorkOptions,
): Promise<WorkSide> {
    const [pass, ...more] = buildRecipe(parseTaskChain(item.chain), "lc++", engine.installed).passes;
    if (pass === undefined || more.length > 0 || pass.budget.kind !== "bounded")
        throw new Error(`${item.chain}: the PyTorch path needs a one-pass recipe with a bounded budget`);
    const peer = await runPythonJson<{
        runs: {promptTokens: number; generatedTokens: number; promptMs: number; decodeMs: number}[];
    }>(options.root, "lab.eval.peer", [], {
        chain: item.chain,
        promptTemplate: pass.prompt.template,
        model: options.modelPath,
        adapters: pass.adapters.map((use) => ({file: use.adapter.filePath, weight: use.scale})),
        calibration: pass.calibration?.filePath ?? null,
        inputs: inputs.map((input) => input.text),
        maxTokens: pass.budget.maxTokens,
        threads: options.threads,
        warmup: true,
    });
    // The peer does not stream: its first token is its first text (a lower bound on a sentence).
    return side(
        "pytorch",
        peer.runs.map((r, i) => ({
            input: inputs[i]?.id ?? "",
            ranAs: "pytorch",
            firstTextMs: r.promptMs,
            firstTokenMs: r.promptMs,
            totalMs: r.promptMs + r.decodeMs,
            generations: 1,
            generatedTokens: r.generatedTokens,
        })),
    );
}

export async function runRealWork(
    engine: Engine,
    options: RealWorkOptions,
    progress: Progress,
): Promise<RealWorkResults> {
    const started = performance.now();
    const items = WORK.filter((item) => options.only === undefined || options.only.includes(item.chain));
    const set = await loadRealTextSet(
        options.root,
        {
            commands: {
                email: items.filter((i) => i.genre === "email").map((i) => i.chain),
                long: items.filter((i) => i.genre === "long").map((i) => i.chain),
            },
            inputs: {email: options.emails, long: 3},
            shortest: false,
        },
        {seed: options.seed, dataDir: options.dataDir},
    );
    const out: WorkResults[] = [];
    for (const item of items) {
        let ids = [...(set.selection[item.genre]?.[item.chain] ?? [])];
        // The longest document only: the case the summary in parts is for.
        if (item.genre === "long")
            ids = ids.sort((a, b) => (set.items[b]?.words ?? 0) - (set.items[a]?.words ?? 0)).slice(0, 1);
        const inputs = ids.map((id) => ({id, text: set.items[id]?.text ?? ""}));
        const [first] = inputs;
        if (first === undefined) continue;
        const sides: WorkSide[] = [];
        for (const method of item.methods) {
            progress.start(`work: ${item.name}, ${method}`, inputs.length + 1);
            // One untimed request first: the contexts a method needs exist before the timed ones.
            await timed(engine, item.chain, method, first);
            progress.tick("warm-up");
            const runs: WorkRun[] = [];
            for (const input of inputs) {
                runs.push(await timed(engine, item.chain, method, input));
                progress.tick(input.id);
            }
            progress.done();
            sides.push(side(method, runs));
        }
        if (item.pytorch && options.pytorch !== false) {
            progress.note(`work: ${item.name}, PyTorch path (${inputs.length + 1} generations)`);
            sides.push(await pytorchSide(engine, item, inputs, options));
        }
        const [mine, ...others] = sides;
        const ratios: Record<string, {firstText: number; total: number}> = {};
        if (mine !== undefined)
            for (const other of others) {
                const paired = (value: (r: WorkRun) => number) =>
                    summarize(mine.runs.map((r, i) => value(r) / value(other.runs[i] as WorkRun))).median;
                ratios[other.method] = {firstText: paired((r) => r.firstTextMs), total: paired((r) => r.totalMs)};
            }
        out.push({
            item,
            inputs: ids.map((id) => ({id, words: set.items[id]?.words ?? 0})),
            sides,
            ratios,
        });
    }
    return {
        threads: options.threads,
        emails: options.emails,
        items: out,
        wallSeconds: (performance.now() - started) / 1000,
    };
}
