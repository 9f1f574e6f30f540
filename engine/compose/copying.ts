// Whether a summary is its input's own text. Given a news paragraph, a one-pass summary composite
// sometimes gives back its first sentences whole: "Summarize casually" answered with the lead and
// the next sentence of a report on an earthquake, unchanged (the real-text runs of 2026-12-05; the
// tone adapters alone leave such news as it is, and the summarizer alone keeps its lead sentence
// only). That is neither short nor in the asked tone; the composer then writes the summary again
// in separate passes (composer.ts, Recipe.stepsFallback: bump its STEPS_FALLBACK_CHECKS with any
// change here). The benchmark's judge of broken outputs measures copying with the same words and
// runs (bench/brokenOutput.ts).

/** A run of this many words that the input has word for word counts as copied from it... */
const COPY_RUN_WORDS = 6;
/** ...and a summary made of such runs for this share of its words is the input's own text, */
const COPY_SHARE = 0.9;
/** when it keeps this share of the input's words (a news paragraph's lead sentence, about 0.26 of it, is a summary). */
const COPY_MIN_SHARE_OF_INPUT = 0.4;
/** Shorter inputs are left alone: their summary may well be their one sentence. */
const COPY_MIN_INPUT_WORDS = 8;

/** Whitespace-separated words, lowercased, without the punctuation around them ("n/a," -> "n/a"). */
export function textWords(text: string): string[] {
    return text
        .toLowerCase()
        .split(/\s+/u)
        .map((word) => word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ""))
        .filter((word) => word.length > 0);
}

/** The share of `output`'s words that lie in runs of COPY_RUN_WORDS words found in `input` (both as textWords). */
export function copiedShare(output: readonly string[], input: readonly string[]): number {
    const inputRuns = new Set<string>();
    for (let i = 0; i + COPY_RUN_WORDS <= input.length; i++)
        inputRuns.add(input.slice(i, i + COPY_RUN_WORDS).join(" "));
    const covered = new Array<boolean>(output.length).fill(false);
    for (let i = 0; i + COPY_RUN_WORDS <= output.length; i++)
        if (inputRuns.has(output.slice(i, i + COPY_RUN_WORDS).join(" "))) covered.fill(true, i, i + COPY_RUN_WORDS);
    return output.length === 0 ? 0 : covered.filter(Boolean).length / output.length;
}

/** True when `summary` is `input`'s own sentences rather than a summary of them. */
export function isCopiedSummary(summary: string, input: string): boolean {
    const summaryWords = textWords(summary);
    const inputWords = textWords(input);
    return (
        inputWords.length >= COPY_MIN_INPUT_WORDS &&
        summaryWords.length >= COPY_MIN_SHARE_OF_INPUT * inputWords.length &&
        copiedShare(summaryWords, inputWords) >= COPY_SHARE
    );
}
