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

/**
 * For whatever caches outputs: bump with any change to isCopiedReply, withoutCopiedParagraphs or
 * how the composer uses them.
 */
export const COPIED_REPLY_CHECK = "half-in-runs-v2-paragraphs";

/** A reply made of the email's own runs for this share of its words speaks in the writer's voice. */
const REPLY_COPY_SHARE = 0.5;

/**
 * True when `reply` is mostly `email`'s own words: "I'll try to get a final copy of the notes out to
 * everyone on Monday." to the email that says so (3 of 40 shipped replies to real emails had half
 * their words or more in 6-word runs of the email; the next had 0.3).
 */
export function isCopiedReply(reply: string, email: string): boolean {
    const replyWords = textWords(reply);
    return replyWords.length >= COPY_RUN_WORDS && copiedShare(replyWords, textWords(email)) >= REPLY_COPY_SHARE;
}

/**
 * The reply without the paragraphs after its first that are the email's own words (isCopiedReply):
 * a reply that answers, then goes on with a paragraph of the email ("... I will definitely check
 * the calendar system.\n\nA quick word on the room bookings. Bear with me please.", 1 of 53
 * shipped replies to real emails). A reply that is a copy as a whole is written again instead
 * (composer.ts). Returns the reply as it was when nothing is left out.
 */
export function withoutCopiedParagraphs(reply: string, email: string): string {
    const paragraphs = reply.trim().split(/\n\s*\n/);
    const kept = paragraphs.filter((paragraph, i) => i === 0 || !isCopiedReply(paragraph, email));
    return kept.length === paragraphs.length ? reply : kept.join("\n\n");
}
