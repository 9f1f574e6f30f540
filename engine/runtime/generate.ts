// One greedy generation on a context: prompt in, streamed text out, stoppable at any token.

import {type LlamaContext, type LlamaModel, type Token, TokenBias} from "node-llama-cpp";
import {type PromptTemplate, splitTemplate} from "../compose/prompt";
import {foreignLetters, wordStart} from "../compose/scripts";
import {endAfterSentences, finishedSentencesEnd} from "../compose/sentences";
import {copyPenalties} from "./copyPenalty";
import {DECODING, type Decoding, type Sampling} from "./decoding";
import {lengthWithoutRepeats, repeatingTail, restatedSentenceStart} from "./loopGuard";
import {StopStringFilter} from "./stopStrings";

export interface GenerateOptions {
    readonly maxTokens: number;
    readonly signal?: AbortSignal;
    /** Called with each new piece of text, never with text past a stop string. */
    readonly onText?: (text: string) => void;
    /** Called after each batch of a prompt longer than one batch: prompt tokens evaluated so far. */
    readonly onPrompt?: (evaluated: number, total: number) => void;
    /**
     * The text is the model's own (a summary, a reply), to be kept to whole sentences when the
     * decoding says so (decoding.ts): it then streams a sentence at a time, so nothing streamed
     * is taken back. A rewrite follows its input instead, repeats included.
     */
    readonly ownText?: boolean;
    /**
     * A rewrite of this many sentences at most: once it begins one more, the model has left its
     * input for text of its own, and the generation stops there (when the decoding keeps whole
     * sentences). It then streams a sentence at a time, so nothing streamed is taken back.
     */
    readonly maxSentences?: number;
    /** Default: DECODING. */
    readonly decoding?: Decoding;
    /** Sample instead of the decoding's temperature (a runaway's retry); everything else as the decoding says. */
    readonly sampling?: Sampling;
    /** Penalise copying the input word for word (the decoding's copyPenalty; a rewrite that gave its input back). */
    readonly avoidCopying?: boolean;
}

/**
 * Why a generation ended: the model ended its turn ("eog", also for a control token such as
 * <end_of_turn> or a template stop string), the token budget ran out ("max-tokens": the text may
 * be cut short), the output began repeating itself verbatim ("repetition": the repeated copies
 * are dropped), a rewrite went on past its input's sentences ("overrun": the extra sentences
 * are dropped), the output turned to a script that neither the input nor the task's language
 * uses ("off-script": dropped from the word where it began), or the caller cancelled.
 */
export type StopReason = "eog" | "max-tokens" | "repetition" | "overrun" | "off-script" | "cancelled";

export interface Generation {
    readonly text: string;
    readonly promptTokens: number;
    readonly generatedTokens: number;
    readonly stopReason: StopReason;
    /** Time to evaluate the prompt and produce the first token. */
    readonly promptMs: number;
    /** Time for every later token. */
    readonly decodeMs: number;
}

export class GenerationCancelledError extends Error {
    override name = "GenerationCancelledError";
    constructor(readonly partial: Generation) {
        super("Generation was cancelled.");
    }
}

/** Template text may hold special tokens; the user's input never does. */
export function tokenizePrompt(model: LlamaModel, prompt: PromptTemplate, input: string): Token[] {
    const {before, after} = splitTemplate(prompt);
    const bos = model.tokens.bos;
    return [
        ...(bos === null ? [] : [bos]),
        ...model.tokenize(before, true),
        ...model.tokenize(input, false),
        ...model.tokenize(after, true),
    ];
}

/**
 * Splits a template's stop strings into control tokens and plain text. "<end_of_turn>" is one
 * special token when the model writes it; matching its spelling in the text would cut a user's
 * text that merely contains those characters (the model may copy them as ordinary tokens).
 */
export function stopTokensOf(model: LlamaModel, stopStrings: readonly string[]): {tokens: Set<Token>; texts: string[]} {
    const tokens = new Set<Token>();
    const texts: string[] = [];
    for (const stop of stopStrings) {
        const special = model.tokenize(stop, true);
        const plain = model.tokenize(stop, false);
        const [only] = special;
        if (special.length === 1 && only !== undefined && plain.length > 1) tokens.add(only);
        else texts.push(stop);
    }
    return {tokens, texts};
}

export async function generate(
    context: LlamaContext,
    prompt: PromptTemplate,
    input: string,
    options: GenerateOptions,
): Promise<Generation> {
    const model = context.model;
    const sequence = context.getSequence();
    try {
        return await generateOnSequence(sequence, model, prompt, input, options);
    } finally {
        // Awaited: the sequence id returns to the context asynchronously, and the next request
        // on this context (ContextPool hands it over at once) needs it back.
        await sequence.dispose();
    }
}

async function generateOnSequence(
    sequence: ReturnType<LlamaContext["getSequence"]>,
    model: LlamaModel,
    prompt: PromptTemplate,
    input: string,
    options: GenerateOptions,
): Promise<Generation> {
    const promptTokens = tokenizePrompt(model, prompt, input);
    if (promptTokens.length + options.maxTokens > sequence.context.contextSize)
        throw new Error(
            `The input is too long: ${promptTokens.length} prompt tokens + ${options.maxTokens} to generate exceed the context size of ${sequence.context.contextSize} tokens.`,
        );
    const stops = stopTokensOf(model, prompt.stopStrings);
    const filter = new StopStringFilter(stops.texts);
    const generated: Token[] = [];
    let text = "";
    // The model ending its turn is the normal end; anything else says so below.
    let stopReason: StopReason = "eog";
    const started = performance.now();
    let firstTokenAt = started;

    const result = (): Generation => ({
        text,
        promptTokens: promptTokens.length,
        generatedTokens: generated.length,
        stopReason,
        promptMs: firstTokenAt - started,
        decodeMs: generated.length > 0 ? performance.now() - firstTokenAt : 0,
    });

    const cancelled = () => {
        stopReason = "cancelled";
        return new GenerationCancelledError(result());
    };
    if (options.signal?.aborted) throw cancelled();
    // A long prompt is fed one batch at a time so that a cancel lands between batches instead of
    // after the whole prompt. node-llama-cpp splits a prompt into batches of this size anyway, so
    // the computation (and the greedy output) is the same.
    const batch = sequence.context.batchSize;
    let fed = 0;
    while (promptTokens.length - fed > batch) {
        await sequence.evaluateWithoutGeneratingNewTokens(promptTokens.slice(fed, fed + batch));
        fed += batch;
        options.onPrompt?.(fed, promptTokens.length);
        if (options.signal?.aborted) throw cancelled();
    }
    const decoding = options.decoding ?? DECODING;
    const wholeSentences = decoding.wholeSentences && options.ownText === true;
    const maxSentences = decoding.wholeSentences ? options.maxSentences : undefined;
    // Only a stream that holds back an unfinished sentence can drop the word a new script began.
    const bySentence = wholeSentences || maxSentences !== undefined;
    let foreign = decoding.scriptGuard && bySentence ? foreignLetters(input) : null;
    const copyPenalty = options.avoidCopying === true ? decoding.copyPenalty : null;
    const source = copyPenalty === null ? [] : model.tokenize(input, false);
    // Only a token that starts a word pays: forced off a copy inside a word, the model misspelt it
    // ("that's" -> "that't"); punctuation is free too.
    const free = new Set(source.filter((token) => !/^\s+[\p{L}\p{N}]/u.test(model.detokenize([token]))));
    const evaluation = sequence.evaluate(promptTokens.slice(fed), {
        temperature: options.sampling?.temperature ?? decoding.temperature,
        ...(options.sampling === undefined ? {} : {seed: options.sampling.seed}),
        ...(decoding.dry === null
            ? {}
            : {dryRepeatPenalty: {...decoding.dry, sequenceBreakers: [...decoding.dry.sequenceBreakers]}}),
        ...(copyPenalty === null
            ? {}
            : {
                  // Called before each token is picked, with the tokens picked so far.
                  tokenBias: () => {
                      const bias = new TokenBias(model.tokenizer);
                      for (const [token, penalty] of copyPenalties(source, generated, copyPenalty, free))
                          bias.set(token, {logit: -penalty});
                      return bias;
                  },
              }),
        // Without this the generator just ends on an end-of-turn token, indistinguishable from a
        // budget cut.
        yieldEogToken: true,
    });
    for await (const token of evaluation) {
        if (generated.length === 0) firstTokenAt = performance.now();
        if (model.isEogToken(token) || stops.tokens.has(token)) break;
        generated.push(token);
        const period = decoding.loopGuard === null ? null : repeatingTail(generated, decoding.loopGuard);
        if (period !== null) {
            // Keep the first copy of the repeated block, drop the others.
            generated.splice(lengthWithoutRepeats(generated, period));
            text = model.detokenize(generated, false);
            stopReason = "repetition";
            break;
        }
        const decoded = model.detokenize(generated, false);
        const restated = wholeSentences ? restatedSentenceStart(decoded) : null;
        if (restated !== null) {
            text = decoded.slice(0, restated).trimEnd();
            stopReason = "repetition";
            break;
        }
        const offScript = foreign === null ? -1 : decoded.search(foreign);
        if (offScript >= 0) {
            const kept = decoded.slice(0, wordStart(decoded, offScript)).trimEnd();
            if (/\p{L}/u.test(kept)) {
                text = kept;
                stopReason = "off-script";
                break;
            }
            // Written in that script from its first word: nothing turned; the answer is what it is
            // (the review shows it, the benchmark judges it as wrong language).
            foreign = null;
        }
        const step = filter.push(decoded, bySentence ? finishedSentencesEnd(decoded) : undefined);
        if (step.emit.length > 0) options.onText?.(step.emit);
        text = step.final;
        if (step.stopped) break;
        const overrun = maxSentences === undefined ? null : endAfterSentences(text, maxSentences);
        if (overrun !== null) {
            // Only whole sentences were streamed, so the sentence dropped here never was.
            text = text.slice(0, overrun);
            stopReason = "overrun";
            break;
        }
        if (options.signal?.aborted) {
            stopReason = "cancelled";
            break;
        }
        if (generated.length >= options.maxTokens) {
            stopReason = "max-tokens";
            const finished = finishedSentencesEnd(text);
            if (wholeSentences && finished > 0) text = text.slice(0, finished).trimEnd();
            break;
        }
    }
    if (stopReason === "cancelled") throw cancelled();
    const rest = filter.flush(text);
    if (rest.length > 0) options.onText?.(rest);
    return result();
}
