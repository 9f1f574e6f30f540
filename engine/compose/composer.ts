// Runs a recipe: each pass becomes a context (its LoRA files from PassMixes, the context from
// the pool) and produces text; a pass's output is the next pass's input. A rewrite pass takes its
// input segment by segment, a summary of a text too long to read at once is written part by part
// (recipe.ts says which). Data flows one way: recipe -> mix -> context -> text; nothing here calls
// back into the engine. This is the only place in compose/ that uses runtime/.

import {type ContextMix, type ContextPool, ContextWaitCancelledError} from "../runtime/contextPool";
import type {Decoding, Sampling} from "../runtime/decoding";
import {type Generation, GenerationCancelledError, generate} from "../runtime/generate";
import {isCopiedReply, isCopiedSummary, withoutCopiedParagraphs} from "./copying";
import {lostFact} from "./facts";
import {writtenIn} from "./language";
import {
    FRAGMENT_BUDGET,
    REWRITE_MAX_SENTENCES,
    SUMMARY_CHUNK_TOKENS,
    SUMMARY_MAX_PARAGRAPHS,
    SUMMARY_PART_SPLITS,
    tokensAllowed,
} from "./length";
import {newestMessage, threadByWriter, writerTurn} from "./mailParts";
import type {Method} from "./methods";
import type {PromptTemplate} from "./prompt";
import type {Pass, Recipe} from "./recipe";
import {
    chunksForSummary,
    groupConsecutive,
    halvesForSummary,
    isFragmentAnswer,
    joinSegments,
    splitForRewrite,
} from "./segments";
import {withoutBorrowedSignature} from "./signOff";
import {type ChainKey, chainKey} from "./taskChain";

export interface ComposeOptions {
    /** The caller's own limit on each generation; without it each pass gets its task's budget (length.ts). */
    readonly maxTokens?: number;
    /** Default "fused"; "separate" only to measure the two forms side by side. */
    readonly loraForm?: LoraForm;
    readonly signal?: AbortSignal;
    /** Text of the answer as it is generated; `pass` counts from 0, the last pass is the answer. */
    readonly onText?: (text: string, pass: number) => void;
    /** Prompt evaluation of a long input, batch by batch (see runtime/generate.ts). */
    readonly onPrompt?: (evaluated: number, total: number, pass: number) => void;
    /** A text taken in several generations (segments, chunks): how many are done of how many. */
    readonly onStep?: (done: number, total: number) => void;
}

export interface PassReport {
    readonly does: ChainKey;
    readonly adapters: readonly {id: string; scale: number}[];
    readonly calibration: string | null;
    readonly coldContext: boolean;
    readonly contextMs: number;
    readonly generation: Generation;
    /** A rewrite's runaway that was tried again (Decoding.runawayRetries): its text is not in the answer. */
    readonly setAside: boolean;
}

export interface ComposeResult {
    readonly text: string;
    readonly chain: ChainKey;
    readonly method: Method;
    readonly notes: readonly string[];
    /** Every generation in the order it ran (a segmented or chunked text has several per pass). */
    readonly passes: readonly PassReport[];
    /** True when a generation that wrote part of the answer stopped at its token budget: the text may be cut short. */
    readonly cutAtBudget: boolean;
    /** Sentences of a tone rewrite kept as written, their rewrite having changed a fact (facts.ts; a note too). */
    readonly keptAsWritten: number;
    readonly totalMs: number;
}

export class ComposeCancelledError extends Error {
    override name = "ComposeCancelledError";
    constructor(readonly passes: readonly PassReport[]) {
        super("Composition was cancelled; nothing was produced.");
    }
}

/** Nothing to work on: refused before any generation. */
export class EmptyInputError extends Error {
    override name = "EmptyInputError";
    readonly code = "empty-input";
    constructor() {
        super("The text is empty (or only whitespace): select the text to work on.");
    }
}

/** A generation produced no text; an empty answer is never a success. */
export class EmptyOutputError extends Error {
    override name = "EmptyOutputError";
    readonly code = "empty-output";
    constructor(
        readonly does: ChainKey,
        readonly pass: number,
        readonly passes: number,
        generation: Generation,
    ) {
        super(
            `Pass ${pass + 1} of ${passes} (${does}) produced no text (it stopped with "${generation.stopReason}" after ${generation.generatedTokens} tokens). Try another method or a shorter selection.`,
        );
    }
}

/**
 * How a pass's LoRA files reach llama.cpp: "fused" into one file (the engine's form: llama.cpp
 * sums several LoRAs in heap-address order, so only one gives the same text in every process,
 * and it is faster), or "separate", each file on its own (kept for measuring the two side by side).
 */
export type LoraForm = "fused" | "separate";

/** The form a pass runs in: a single LoRA file (or none) is already one LoRA, so only mixes of two or more are fused. */
export function passForm(pass: Pass, form: LoraForm): LoraForm {
    const loraFiles = pass.adapters.length + (pass.calibration === null ? 0 : 1);
    return form === "fused" && loraFiles >= 2 ? "fused" : "separate";
}

/** The LoRA files and scales a pass's context needs, made from its verified adapters and calibration (engine/passLoras.ts). */
export interface PassMixes {
    mix(pass: Pass, form: LoraForm): Promise<ContextMix>;
}

/** What runRecipe runs on: LoRA mixes, contexts, the tokenizer and the decoding setting. */
export interface Runner {
    readonly mixes: PassMixes;
    readonly pool: ContextPool;
    readonly countTokens: (text: string) => number;
    /** Tokens of `prompt` around `text` as the model reads them: with the answer, what a context must hold. */
    readonly promptTokens: (prompt: PromptTemplate, text: string) => number;
    readonly decoding: Decoding;
}

/** What one generation may write: tokens, and for a rewrite's sentence, sentences. */
type GenerationLimits = {readonly maxTokens: number; readonly maxSentences?: number};

/** For whatever caches outputs: bump when onePassFailure or what it calls (copying.ts) changes. */
export const STEPS_FALLBACK_CHECKS = "copied-or-off-script-v1";

/**
 * Whether a pass writes a reply, to be written again if it copies the email (copying.ts,
 * isCopiedReply): the first pass of a reply chain, alone or in a tone or a language at once. Not a
 * tone rewrite's sentence given back: written again with the copy penalty, such sentences came out
 * wrong more often than not, and read blind the outputs without those tries were the better on 38
 * of 148 real texts, the worse on 5 (docs/method.md, 2026-12-07).
 */
function writesReply(recipe: Recipe, pass: Pass, index: number): boolean {
    return recipe.chain.main === "reply" && index === 0 && pass.reads !== "segments";
}

/**
 * Why a one-pass summary's answer is not one (Recipe.stepsFallback), or null: it is the input's
 * own sentences, or a generation stopped where it turned to another writing system, which leaves
 * the answer cut ("Steve quiere una fiesta coordinada en", summarize + Spanish on a real email).
 */
function onePassFailure(
    answer: string,
    input: string,
    onePass: ChainKey,
    reports: readonly PassReport[],
): string | null {
    if (isCopiedSummary(answer, input)) return "gave back the text's own sentences";
    // The answer's own generations only: a long text's part summaries are read again, not shown.
    if (reports.some((r) => r.does === onePass && !r.setAside && r.generation.stopReason === "off-script"))
        return "turned to another writing system and stopped there";
    return null;
}

export async function runRecipe(
    recipe: Recipe,
    input: string,
    runner: Runner,
    options: ComposeOptions,
): Promise<ComposeResult> {
    if (input.trim().length === 0) throw new EmptyInputError();
    const started = performance.now();
    const reports: PassReport[] = [];
    const notes = [...recipe.notes];
    // A reply answers the email's newest message, not the earlier ones it quotes (mailParts.ts).
    const email = recipe.chain.main === "reply" ? newestMessage(input) : null;
    if (email?.leftOut)
        notes.push("The reply answers the newest message; the earlier messages it quotes were left out.");
    const read = email?.text ?? input;
    let cutAtBudget = false;
    /** Sentences of a tone rewrite given back as they were, their rewrite having lost a fact (facts.ts). */
    let keptAsWritten = 0;
    /** Parts of a long text whose summary filled its budget, summarized again in two halves. */
    let partsHalved = 0;
    /** Paragraphs of a reply that were the email's own words, left out (copying.ts). */
    let copiedParagraphs = 0;
    const lastPass = recipe.passes.length - 1;
    const form = options.loraForm ?? "fused";
    /** Each pass's mix, made once per request (a rewrite runs its pass once per sentence). */
    const mixes = new Map<Pass, Promise<ContextMix>>();
    const mixOf = (pass: Pass): Promise<ContextMix> => {
        const known = mixes.get(pass) ?? runner.mixes.mix(pass, form);
        mixes.set(pass, known);
        return known;
    };

    /** One generation of one pass on one piece of text, within `limits`. */
    const generateOn = async (
        pass: Pass,
        index: number,
        text: string,
        limits: GenerationLimits,
        stream: boolean,
        variation: {readonly sampling?: Sampling; readonly avoidCopying?: boolean} = {},
    ): Promise<Generation> => {
        const contextStarted = performance.now();
        const mix = await mixOf(pass);
        const tokens = runner.promptTokens(pass.prompt, text) + limits.maxTokens;
        // One request at a time per context: a busy mix waits its turn (see ContextPool.use).
        const generation = await runner.pool
            .use(mix, {signal: options.signal, tokens}, async ({context, created}) => {
                const contextMs = performance.now() - contextStarted;
                const describe = (generation: Generation): PassReport => ({
                    does: pass.does,
                    adapters: pass.adapters.map((use) => ({id: use.adapter.id, scale: use.scale})),
                    calibration: pass.calibration?.filePath ?? null,
                    coldContext: created,
                    contextMs,
                    generation,
                    setAside: false,
                });
                try {
                    const generation = await generate(context, pass.prompt, text, {
                        ...limits,
                        signal: options.signal,
                        ownText: pass.budget.kind === "bounded",
                        decoding: runner.decoding,
                        ...variation,
                        onText: stream ? (piece) => options.onText?.(piece, index) : undefined,
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
        return generation;
    };

    /** A generation whose text is not in the answer: another try took its place. */
    const setAside = (generation: Generation): void => {
        for (const [i, report] of reports.entries())
            if (report.generation === generation) reports[i] = {...report, setAside: true};
    };

    /**
     * A rewrite's sentence whose greedy generation filled its budget, tried again with each of the
     * decoding's runaway retries until one ends by itself; the others are set aside in the report.
     * None ending by itself: the greedy text stays (cut, and reported so).
     */
    const settleRunaway = async (
        pass: Pass,
        index: number,
        text: string,
        limits: GenerationLimits,
        greedy: Generation,
    ): Promise<Generation> => {
        if (greedy.stopReason !== "max-tokens") return greedy;
        const tries = [greedy];
        let kept = greedy;
        for (const sampling of runner.decoding.runawayRetries) {
            const retry = await generateOn(pass, index, text, limits, false, {sampling});
            tries.push(retry);
            if (retry.stopReason === "eog") {
                kept = retry;
                break;
            }
        }
        for (const generation of tries) if (generation !== kept) setAside(generation);
        return kept;
    };

    /**
     * A reply that copied its email, written again with copying penalised (Decoding.copyPenalty).
     * The try is kept when it ends by itself and is not a copy too; otherwise it is set aside in the
     * report and the first stays.
     */
    const settleCopy = async (
        pass: Pass,
        index: number,
        email: string,
        limits: GenerationLimits,
        first: Generation,
    ): Promise<Generation> => {
        if (runner.decoding.copyPenalty === null || !isCopiedReply(first.text, email)) return first;
        const retry = await generateOn(pass, index, email, limits, false, {avoidCopying: true});
        const rewritten = retry.text.trim();
        const kept =
            retry.stopReason === "eog" && rewritten.length > 0 && !isCopiedReply(rewritten, email) ? retry : first;
        setAside(kept === retry ? first : retry);
        return kept;
    };

    /**
     * A pass's text for one piece: the whole input, a chunk, or one sentence of a rewrite, with the
     * generation it kept and whether that cut the answer (a generation of the answer's own, streamed,
     * that stopped at its budget).
     */
    const runPiece = async (
        pass: Pass,
        index: number,
        text: string,
        stream: boolean,
    ): Promise<{output: string; generation: Generation; cut: boolean}> => {
        const rewrite = pass.reads === "segments";
        const limits = {
            maxTokens: tokensAllowed(pass.budget, runner.countTokens(text), options.maxTokens),
            ...(rewrite ? {maxSentences: REWRITE_MAX_SENTENCES} : {}),
        };
        // A rewrite's sentence streams once settled: its first try may yet be set aside.
        const first = await generateOn(pass, index, text, limits, stream && !rewrite);
        const reply = writesReply(recipe, pass, index);
        const settled = rewrite ? await settleRunaway(pass, index, text, limits, first) : first;
        const generation = reply ? await settleCopy(pass, index, text, limits, settled) : settled;
        let output = generation.text.trim();
        if (output.length === 0) throw new EmptyOutputError(pass.does, index, recipe.passes.length, generation);
        if (reply) {
            const unrepeated = withoutCopiedParagraphs(output, text);
            if (unrepeated !== output) copiedParagraphs += 1;
            output = unrepeated;
        }
        const givenBack = rewrite && pass.keepsFacts && lostFact(text, output) !== null;
        if (givenBack) {
            keptAsWritten += 1;
            output = text;
        }
        if (rewrite && stream) options.onText?.(output, index);
        // Only the answer's own generations (the last pass, streamed) can cut it; a chunk summary
        // that filled its budget kept whole sentences and is read again by the final summary, and
        // a sentence given back as it was is whole.
        return {output, generation, cut: generation.stopReason === "max-tokens" && stream && !givenBack};
    };

    const run = async (pass: Pass, index: number, text: string, stream: boolean): Promise<string> => {
        const piece = await runPiece(pass, index, text, stream);
        if (piece.cut) cutAtBudget = true;
        return piece.output;
    };

    /**
     * A part of a long text summarized into the answer's paragraph. A part of several stories can
     * fill the summary's budget with the first and leave the rest unsaid (2 of 3 long documents of
     * a held-out draw of NTREX news): its two halves are then summarized instead and joined into
     * the paragraph, up to SUMMARY_PART_SPLITS times. The try that was halved is set aside: the
     * review shows the answer as finally written. Not for the parts a composite reads as
     * summaries: halved, they gave its French paragraphs more to mix up ("taxe de taxe", one
     * story's town in another's) at twice the time. A caller's own token limit asks for short
     * generations and is taken as it is.
     */
    const summarizePart = async (
        pass: Pass,
        index: number,
        text: string,
        answer: boolean,
        splits = 0,
    ): Promise<string> => {
        // Only the part's first try streams: halves replace text already shown.
        const whole = await runPiece(pass, index, text, answer && splits === 0);
        const halves =
            whole.generation.stopReason === "max-tokens" &&
            options.maxTokens === undefined &&
            splits < SUMMARY_PART_SPLITS
                ? halvesForSummary(text, runner.countTokens)
                : null;
        if (halves === null) {
            if (answer && whole.generation.stopReason === "max-tokens") cutAtBudget = true;
            return whole.output;
        }
        setAside(whole.generation);
        if (splits === 0) partsHalved += 1;
        const summaries: string[] = [];
        for (const half of halves) summaries.push(await summarizePart(pass, index, half, answer, splits + 1));
        return summaries.join(" ");
    };

    /** A fragment of a rewrite (segments.ts): its translation if that is a fragment too, else the line as it was. */
    const runFragment = async (pass: Pass, index: number, text: string): Promise<string> => {
        if (pass.fragments === "keep") return text;
        const limits = {maxTokens: tokensAllowed(FRAGMENT_BUDGET, runner.countTokens(text)), maxSentences: 1};
        // Not streamed: the answer may yet be set aside for the line itself.
        const generation = await generateOn(pass, index, text, limits, false);
        const answer = generation.text.trim();
        return generation.stopReason === "eog" && isFragmentAnswer(text, answer) ? answer : text;
    };

    /**
     * A summary in parts, a paragraph each: a text longer than one generation reads, so that a
     * document of several stories keeps each of them (one summary of the parts' summaries kept
     * mostly one), and an email with its thread, a writer each (mailParts.ts, threadByWriter), so
     * that each is told apart. The summarizer reads the parts itself; a composite (summarize in
     * French, casually) writes its paragraphs from the summarizer's English summaries of the
     * parts, short inputs like those its calibration was trained on (given 1,200 tokens of news it
     * looped and wrote stray tokens). Past SUMMARY_MAX_PARAGRAPHS parts, each paragraph is written
     * from the summaries of several consecutive parts.
     */
    const runInParts = async (
        pass: Pass,
        chunkSummary: Pass,
        index: number,
        chunks: readonly string[],
        of: "long text" | "thread",
        stream: boolean,
    ): Promise<string> => {
        const groups = groupConsecutive(chunks.length, SUMMARY_MAX_PARAGRAPHS);
        const fromSummaries = groups.length < chunks.length || pass.does !== chunkSummary.does;
        const total = (fromSummaries ? chunks.length : 0) + groups.length;
        let done = 0;
        const step = () => options.onStep?.(++done, total);
        const parts = `${chunks.length} parts`;
        const how = fromSummaries
            ? `, then ${groups.length} paragraphs written from those summaries.`
            : ", a paragraph each.";
        const tooLong = "The text is too long to summarize at once";
        notes.push(
            of === "thread"
                ? `The email quotes earlier messages: each writer's part was summarized apart (${parts})${how}`
                : fromSummaries
                  ? `${tooLong}: its ${parts} were summarized${how}`
                  : `${tooLong}: summarized in ${parts}${how}`,
        );
        const summaries: string[] = [];
        if (fromSummaries)
            for (const chunk of chunks) {
                summaries.push(await run(chunkSummary, index, chunk, false));
                step();
            }
        const inputs = fromSummaries ? groups.map((group) => group.map((c) => summaries[c]).join("\n\n")) : chunks;
        const paragraphs: string[] = [];
        for (const [i, input] of inputs.entries()) {
            if (options.signal?.aborted) throw new ComposeCancelledError(reports);
            if (i > 0 && stream) options.onText?.("\n\n", index);
            // A paragraph written from summaries reads a few short ones; only a part read whole is halved.
            paragraphs.push(
                await (fromSummaries ? run(pass, index, input, stream) : summarizePart(pass, index, input, stream)),
            );
            step();
        }
        return paragraphs.join("\n\n");
    };

    /** A pass over a whole text, read as the pass reads. */
    const runPass = async (pass: Pass, index: number, text: string): Promise<string> => {
        const stream = index === lastPass;
        if (pass.reads === "segments") {
            const {leading, segments} = splitForRewrite(text, pass.quotes);
            const [only] = segments;
            if (segments.length === 1 && only?.kind === "sentence") return run(pass, index, only.text, stream);
            const rewritten: string[] = [];
            for (const [i, segment] of segments.entries()) {
                // A cancel that came with the last sentence's text ends the pass before the next.
                if (options.signal?.aborted) throw new ComposeCancelledError(reports);
                if (i > 0 && stream) options.onText?.(segments[i - 1]?.after ?? "", index);
                if (segment.kind === "sentence") rewritten.push(await run(pass, index, segment.text, stream));
                else {
                    const text =
                        segment.kind === "fragment" ? await runFragment(pass, index, segment.text) : segment.text;
                    if (stream) options.onText?.(text, index);
                    rewritten.push(text);
                }
                options.onStep?.(i + 1, segments.length);
            }
            return joinSegments(leading, segments, rewritten).trim();
        }
        if (pass.reads === "chunks" && recipe.chunkSummary !== null) {
            const chunksOf = (text: string) => chunksForSummary(text, runner.countTokens, SUMMARY_CHUNK_TOKENS);
            const writers = threadByWriter(text);
            if (writers !== null) {
                const turns = writers.flatMap(({writer, text}) =>
                    chunksOf(text).map((chunk) => writerTurn(writer, chunk)),
                );
                return runInParts(pass, recipe.chunkSummary, index, turns, "thread", stream);
            }
            if (runner.countTokens(text) > SUMMARY_CHUNK_TOKENS)
                return runInParts(pass, recipe.chunkSummary, index, chunksOf(text), "long text", stream);
        }
        return run(pass, index, text, stream);
    };

    /** Passes run after the answer was streamed, each on the last one's text; whether the last was cut at its budget. */
    const runAfterwards = async (passes: readonly Pass[], text: string): Promise<{text: string; cut: boolean}> => {
        let lastStarts = reports.length;
        for (const [i, pass] of passes.entries()) {
            lastStarts = reports.length;
            text = await runPass(pass, recipe.passes.length + i, text);
        }
        const cut = reports.slice(lastStarts).some((r) => !r.setAside && r.generation.stopReason === "max-tokens");
        return {text, cut};
    };

    let text = read;
    for (const [index, pass] of recipe.passes.entries()) text = await runPass(pass, index, text);
    // Neither is streamed: the review replaces the answer it showed when the new one is done.
    const fallback = recipe.stepsFallback;
    const repair = recipe.languageRepair;
    const failure = fallback === null ? null : onePassFailure(text, read, recipe.passes[0].does, reports);
    if (fallback !== null && failure !== null) {
        const again = await runAfterwards(fallback, read);
        text = again.text;
        cutAtBudget = again.cut;
        notes.push(
            `The one-pass answer ${failure}; it was written again in ${fallback.length} passes (${fallback.map((p) => p.does).join(", then ")}).`,
        );
    } else if (repair !== null && writtenIn(text) === "en") {
        const translated = await runAfterwards([repair], text);
        text = translated.text;
        cutAtBudget ||= translated.cut;
        notes.push(`The answer came back in English; it was translated in a second pass (${repair.does}).`);
    }
    if (recipe.chain.main === "reply") {
        const unsigned = withoutBorrowedSignature(text, read);
        if (unsigned !== text) {
            text = unsigned;
            notes.push("The reply was signed with a name it cannot know; the name was left out for you to sign.");
        }
    }
    if (copiedParagraphs > 0) notes.push("A paragraph of the reply repeated the email's own words; it was left out.");
    if (partsHalved > 0)
        notes.push(
            `${partsHalved === 1 ? "1 part's summary" : `${partsHalved} parts' summaries`} reached the length limit; ${partsHalved === 1 ? "it was" : "each was"} summarized again in halves.`,
        );
    if (keptAsWritten > 0)
        notes.push(
            `${keptAsWritten === 1 ? "1 sentence was" : `${keptAsWritten} sentences were`} kept as written: the rewrite changed a fact (a number, a name, a "not", an "if", a hedge, a question, a quotation or who it is about).`,
        );
    if (cutAtBudget)
        notes.push(
            options.maxTokens === undefined
                ? "The answer reached its length limit and may be cut short."
                : `The answer reached the ${options.maxTokens}-token limit and may be cut short.`,
        );
    return {
        text,
        chain: chainKey(recipe.chain),
        method: recipe.method,
        notes,
        passes: reports,
        cutAtBudget,
        keptAsWritten,
        totalMs: performance.now() - started,
    };
}
