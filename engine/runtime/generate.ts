// One greedy generation on a context: prompt in, streamed text out, stoppable at any token.

import type {LlamaContext, LlamaModel, Token} from "node-llama-cpp";
import {type PromptTemplate, splitTemplate} from "../compose/prompt";
import {StopStringFilter} from "./stopStrings";

export interface GenerateOptions {
    readonly maxTokens: number;
    readonly signal?: AbortSignal;
    /** Called with each new piece of text, never with text past a stop string. */
    readonly onText?: (text: string) => void;
    /** Called after each batch of a prompt longer than one batch: prompt tokens evaluated so far. */
    readonly onPrompt?: (evaluated: number, total: number) => void;
}

export type StopReason = "eog" | "stop-string" | "max-tokens" | "cancelled";

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
    const filter = new StopStringFilter(prompt.stopStrings);
    const generated: Token[] = [];
    let text = "";
    let stopReason: StopReason = "max-tokens";
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
    // temperature 0 = greedy; no repeat penalty so every method decodes alike.
    for await (const token of sequence.evaluate(promptTokens.slice(fed), {temperature: 0})) {
        if (generated.length === 0) firstTokenAt = performance.now();
        if (model.isEogToken(token)) {
            stopReason = "eog";
            break;
        }
        generated.push(token);
        const decoded = model.detokenize(generated, false);
        const step = filter.push(decoded);
        if (step.emit.length > 0) options.onText?.(step.emit);
        text = step.final;
        if (step.stopped) {
            stopReason = "stop-string";
            break;
        }
        if (options.signal?.aborted) {
            stopReason = "cancelled";
            break;
        }
        if (generated.length >= options.maxTokens) break;
    }
    if (stopReason === "cancelled") throw cancelled();
    if (stopReason !== "stop-string") {
        const rest = filter.flush(text);
        if (rest.length > 0) options.onText?.(rest);
    }
    return result();
}
