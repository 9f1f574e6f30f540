// The last line of defence against a generation that has started repeating itself verbatim.
// The DRY penalty (decoding.ts) makes such loops rare; when one still happens, the generation
// stops and the repeated copies are dropped, keeping the first.

import {endsOnSentenceMark, lastSentenceStart} from "../compose/sentences";

export interface LoopGuardOptions {
    /** How many back-to-back copies of a block make a loop. */
    readonly copies: number;
    /** The longest block (in tokens) looked for. */
    readonly maxPeriod: number;
    /** Copies spanning fewer tokens than this are not a loop ("ha ha ha", "- - -"). */
    readonly minSpan: number;
}

export const LOOP_GUARD: LoopGuardOptions = {copies: 3, maxPeriod: 48, minSpan: 12};

/**
 * The length of the shortest block the sequence ends in `copies` (or more) times back to back, or null.
 * O(maxPeriod x span) per call, which is nothing next to a decode step.
 */
export function repeatingTail<T>(tokens: readonly T[], options: LoopGuardOptions = LOOP_GUARD): number | null {
    for (let period = 1; period <= options.maxPeriod; period++) {
        // At least `copies` copies, and as many more as it takes to span minSpan tokens.
        const span = period * Math.max(options.copies, Math.ceil(options.minSpan / period));
        if (span > tokens.length) continue;
        const start = tokens.length - span;
        let periodic = true;
        for (let i = start + period; i < tokens.length && periodic; i++) periodic = tokens[i] === tokens[i - period];
        if (periodic) return period;
    }
    return null;
}

/** How many tokens to keep of a sequence that ends in copies of a `period`-token block: up to the end of the first copy. */
export function lengthWithoutRepeats<T>(tokens: readonly T[], period: number): number {
    let end = tokens.length;
    const sameAsBlockBefore = () => {
        for (let i = end - period; i < end; i++) if (tokens[i] !== tokens[i - period]) return false;
        return true;
    };
    while (end >= 2 * period && sameAsBlockBefore()) end -= period;
    return end;
}

/** A new sentence that mostly restates earlier ones: the share of its word pairs already used. */
export const SENTENCE_REPEAT = {minWords: 4, maxSharedPairs: 0.6} as const;

function wordPairs(text: string): string[] {
    const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    return words.slice(1).map((word, i) => `${words[i]} ${word}`);
}

/**
 * Where the text should end if its last, just-finished sentence mostly restates earlier ones
 * ("Allen should be prepared to accept pull requests. Allen should be prepared for
 * contributions."): the offset where that sentence starts; null while the text is fine. Small
 * models paraphrase their way around a token-level penalty; this catches the loop one level up.
 */
export function restatedSentenceStart(text: string, options = SENTENCE_REPEAT): number | null {
    if (!endsOnSentenceMark(text)) return null;
    // The last sentence starts where the ones before it end; the first sentence restates nothing.
    const sentenceStart = lastSentenceStart(text);
    if (sentenceStart === 0) return null;
    const pairs = wordPairs(text.slice(sentenceStart));
    if (pairs.length + 1 < options.minWords) return null;
    const earlier = new Set(wordPairs(text.slice(0, sentenceStart)));
    const shared = pairs.filter((pair) => earlier.has(pair)).length;
    return shared / pairs.length >= options.maxSharedPairs ? sentenceStart : null;
}
