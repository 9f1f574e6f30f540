// How much a pass may write, and how much input one generation reads. A summary or a reply is
// the model's own text and is bounded; a translation or tone rewrite must cover its whole input,
// so its budget follows the input, sentence by sentence (segments.ts).

import type {TaskChain} from "./taskChain";

export type TokenBudget =
    /** Summaries and replies: at most this many tokens, whatever the input's length. */
    | {readonly kind: "bounded"; readonly maxTokens: number}
    /** Rewrites: room for the whole input in another language or register. */
    | {readonly kind: "follows-input"; readonly perInputToken: number; readonly extra: number};

/** The paper's budget (max_new_tokens 128) for the text a model writes on its own. */
export const OWN_TEXT_BUDGET: TokenBudget = {kind: "bounded", maxTokens: 128};

/**
 * The same text written in Spanish, French or German takes more of Gemma's tokens: over NTREX's
 * 499 four-sentence paragraphs, French / English tokens are 1.33 at the median, 1.56 at the 90th
 * percentile (German 1.22 / 1.44, Spanish 1.15 / 1.35). 1.5x the English budget keeps a summary or
 * reply that fits in English from being cut in translation.
 */
export const TRANSLATED_OWN_TEXT_BUDGET: TokenBudget = {kind: "bounded", maxTokens: 192};

/**
 * French and German take up to ~1.5x the tokens of the English they translate (Gemma's
 * tokenizer); 2x plus a little leaves room without inviting a runaway.
 */
export const REWRITE_BUDGET: TokenBudget = {kind: "follows-input", perInputToken: 2, extra: 16};

/**
 * A rewrite reads one sentence at a time (segments.ts) and may write this many: a translation
 * sometimes splits a sentence in two (of NTREX's 1,345 English sentences, the human French
 * translation has more than one extra sentence for 7, German 2, Spanish 5, by sentences.ts's
 * splitter). Past that the adapter has left its input for sentences of its own.
 */
export const REWRITE_MAX_SENTENCES = 2;

/** A fragment's translation ("Best regards," -> "Cordialement,"): a few tokens, not a sentence. */
export const FRAGMENT_BUDGET: TokenBudget = {kind: "follows-input", perInputToken: 2, extra: 4};

/**
 * How a rewrite reads its input and ends, for whatever caches outputs (the benchmark): bump
 * `segments` when segments.ts or sentences.ts split differently.
 */
export const REWRITE_READING = {
    segments: "sentences-v7-mail-parts-said-pgp",
    maxSentences: REWRITE_MAX_SENTENCES,
    fragmentBudget: FRAGMENT_BUDGET,
} as const;

/**
 * The longest input one summary generation reads; a longer text is summarized in chunks of this
 * size, a paragraph each (the adapters saw dialogues of a few hundred tokens, not documents).
 */
export const SUMMARY_CHUNK_TOKENS = 1200;

/**
 * A long text's summary has at most this many paragraphs (~5,000 words read as 6 parts); a
 * longer one writes each paragraph from the summaries of several consecutive parts.
 */
export const SUMMARY_MAX_PARAGRAPHS = 6;

/**
 * How many times a part whose summary filled its budget is cut in two (composer.ts,
 * summarizePart). Once: on the 6 long NTREX documents of two real-text draws it left 1 of 3 cut
 * summaries cut, and cutting twice did not mend that one (the summarizer copies news sentences,
 * and a quarter of ~300 tokens still filled 128) while it made the paragraph longer.
 */
export const SUMMARY_PART_SPLITS = 1;

/** How a summary reads a long text, for whatever caches outputs: bump `layout` when it changes. */
export const SUMMARY_READING = {
    layout: "paragraph-per-part-v3-answer-halves",
    chunkTokens: SUMMARY_CHUNK_TOKENS,
    maxParagraphs: SUMMARY_MAX_PARAGRAPHS,
    partSplits: SUMMARY_PART_SPLITS,
} as const;

export function budgetFor(chain: TaskChain): TokenBudget {
    if (chain.main === null) return REWRITE_BUDGET;
    return chain.aux.some((task) => task.startsWith("translate:")) ? TRANSLATED_OWN_TEXT_BUDGET : OWN_TEXT_BUDGET;
}

/** Tokens a generation may write for an input of `inputTokens`; `cap` is the caller's own limit, if any. */
export function tokensAllowed(budget: TokenBudget, inputTokens: number, cap?: number): number {
    const own =
        budget.kind === "bounded" ? budget.maxTokens : Math.ceil(inputTokens * budget.perInputToken) + budget.extra;
    return cap === undefined ? own : Math.min(own, cap);
}
