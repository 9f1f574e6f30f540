// Splitting a text into the pieces a rewrite takes one at a time, and joining the rewritten
// pieces back with the original spacing, so no part of a long input is silently dropped.
//
// The piece is one sentence, or one line that is not a sentence (a greeting, a heading, a
// dialogue turn, a list item): the translation and tone adapters were trained on single
// sentences. Given a paragraph they translated its first sentences and then went on with
// sentences of their own (real-text benchmark, 2026-12-04: 3 of 5 French translations cut at
// the budget mid-invention); given one sentence at a time they end where it ends.

import {attributionLines, isQuoted, isSignatureDelimiter, QUOTE_MARKS, signingArmor} from "./mailParts";
import {endsOnSentenceMark, type Sentence, splitSentences} from "./sentences";

export interface Segment {
    /** The text to rewrite (never only whitespace; a wrapped sentence on one line). */
    readonly text: string;
    /** What followed it in the input (line and paragraph breaks, spaces), kept as is in the output. */
    readonly after: string;
    /**
     * "sentence": rewritten. "fragment": a short line that is not a sentence (a greeting, a
     * sign-off, a name: at most FRAGMENT_WORDS words, no closing mark), which the pass's
     * FragmentHandling (recipe.ts) translates or keeps. "verbatim": no letters ("--", "***",
     * "2024") or a line's label in a dialogue ("#Person1#:"), kept as it is.
     */
    readonly kind: "sentence" | "fragment" | "verbatim";
}

export const FRAGMENT_WORDS = 3;

const words = (text: string) => text.split(/\s+/u).filter((word) => word.length > 0).length;

function kindOf(text: string): Segment["kind"] {
    if (!/\p{L}/u.test(text)) return "verbatim";
    return words(text) <= FRAGMENT_WORDS && !endsOnSentenceMark(text) ? "fragment" : "sentence";
}

/** A fragment's rewrite stays a fragment: one line, not much longer than the original. */
export function isFragmentAnswer(fragment: string, answer: string): boolean {
    return answer.length > 0 && !/\n/u.test(answer) && words(answer) <= 2 * words(fragment) + 1;
}

/**
 * A line this long or longer that does not end a sentence is taken to be wrapped (mail and
 * Markdown wrap at 72-80 columns): the sentence goes on on the next line. Shorter lines stand
 * alone ("Hi Anna,", "Reviewer: Sarah Banks").
 */
const WRAPPED_LINE_CHARS = 40;
/**
 * No one wraps wider: a block of lines with a longer one was not wrapped by a tool, and its lines
 * without a closing mark are headlines, bullets or captions that end where they end ("Foreign
 * buyers will be charged higher stamp duty ... under new Tory plans", 141 characters).
 */
const WIDEST_WRAP_CHARS = 100;
/**
 * A speaker's or a field's label at the start of a line: "#Person1#: ", "Anna: ", "Review result: ".
 * In a text where two or more lines start with one (a dialogue, a transcript, header fields), the
 * labels are kept as they are and only what follows is rewritten: translating a DialogSum
 * dialogue line by line, translate:de renumbered the speakers ("#Person2#: Susan hat ...").
 */
const LABEL = /^(?:#\w+#|[\p{Lu}][\p{L}.'-]*(?: [\p{L}.'-]+){0,2}):[ \t]+(?=\S)/u;
/** A line that starts its own item whatever came before: a list, a quote, a speaker's turn. */
const ITEM_START = /^\s*(?:[-*•+>]|\d+[.)]\s|#\w+#:|[\p{Lu}][\p{L}.' -]{0,30}:\s)/u;

/**
 * A wrapper breaks a line only where the next word does not fit, so a wrapped line plus the next
 * line's first word is wider than its block (the lines between blank lines) ever gets. A line that
 * had room for it ended on its own.
 */
function wrapsOnto(line: string, next: string, blockWidth: number): boolean {
    const nextWord = next.trim().split(/\s/u)[0] ?? "";
    return (
        blockWidth <= WIDEST_WRAP_CHARS &&
        line.trim().length >= WRAPPED_LINE_CHARS &&
        line.trimEnd().length + 1 + nextWord.length > blockWidth &&
        !endsOnSentenceMark(line) &&
        !/:\s*$/u.test(line) &&
        !ITEM_START.test(next)
    );
}

/** Each line's block width: the longest line (trailing spaces aside) up to the nearest blank lines. */
function blockWidths(lines: readonly string[]): number[] {
    const widths: number[] = [];
    let start = 0;
    for (let i = 0; i <= lines.length; i++) {
        const line = lines[i];
        if (line !== undefined && line.trim().length > 0) continue;
        const block = lines.slice(start, i);
        const width = Math.max(0, ...block.map((l) => l.trimEnd().length));
        widths.push(...block.map(() => width));
        if (line !== undefined) widths.push(0);
        start = i + 1;
    }
    return widths;
}

/** The text's lines, a wrapped sentence's lines joined, each with the line break after it. */
function logicalLines(text: string): Sentence[] {
    const pieces = text.split(/(\r?\n)/u);
    const texts = pieces.filter((_, i) => i % 2 === 0);
    const widths = blockWidths(texts);
    const lines: Sentence[] = [];
    let current = "";
    for (const [k, line] of texts.entries()) {
        const lineBreak = pieces[2 * k + 1] ?? "";
        const next = texts[k + 1];
        if (
            next !== undefined &&
            next.trim().length > 0 &&
            line.trim().length > 0 &&
            wrapsOnto(line, next, widths[k] ?? 0)
        ) {
            current += `${line.trimEnd()} `;
            continue;
        }
        lines.push({text: current + line, after: lineBreak});
        current = "";
    }
    return lines;
}

/**
 * What a rewrite does with the lines an email quotes from an earlier message (mailParts.ts): a
 * translation translates them, a tone rewrite keeps them, as they are someone else's words. Their
 * quoting marks ("> ") and the "On ..., Alex wrote:" line above them are kept either way, and so is
 * a signature block under its "-- " line.
 */
export type QuoteHandling = "translate" | "keep";

/**
 * The input as segments (a sentence or a line each); leading whitespace is kept in `leading`.
 * Quoted lines as `quotes` says.
 */
export function splitForRewrite(
    text: string,
    quotes: QuoteHandling = "translate",
): {leading: string; segments: Segment[]} {
    const leading = text.match(/^\s*/u)?.[0] ?? "";
    const segments: Segment[] = [];
    const addSpacing = (spacing: string) => {
        const last = segments.pop();
        if (last !== undefined) segments.push({...last, after: last.after + spacing});
    };
    const lines = logicalLines(text.slice(leading.length));
    const labelled = lines.filter((line) => LABEL.test(line.text)).length >= 2;
    const attributions = attributionLines(lines.map((line) => line.text));
    // A selection that is all quotation is the text to rewrite: the user chose it.
    const ownWords = lines.some((line, k) => /\p{L}/u.test(line.text) && !attributions.has(k) && !isQuoted(line.text));
    const keepQuoted = quotes === "keep" && ownWords;
    const signature = lines.findIndex((line) => isSignatureDelimiter(line.text));
    const armor = signingArmor(lines.map((line) => line.text));
    for (const [k, line] of lines.entries()) {
        const trailing = line.text.match(/\s*$/u)?.[0] ?? "";
        let content = line.text.slice(0, line.text.length - trailing.length);
        const marks = QUOTE_MARKS.exec(content)?.[0];
        const signed = signature >= 0 && k > signature && marks === undefined;
        const kept = attributions.has(k) || signed || armor.has(k) || (marks !== undefined && keepQuoted);
        if (kept && content.length > 0) {
            segments.push({text: content, after: trailing + line.after, kind: "verbatim"});
            continue;
        }
        const label = marks ?? (labelled ? LABEL.exec(content)?.[0] : undefined);
        if (label !== undefined) {
            const name = label.trimEnd();
            segments.push({text: name, after: label.slice(name.length), kind: "verbatim"});
            content = content.slice(label.length);
        }
        if (content.length === 0) {
            // A blank line (or a quoted one) belongs to the previous segment's spacing.
            addSpacing(label === undefined ? line.text + line.after : trailing + line.after);
            continue;
        }
        for (const sentence of splitSentences(content))
            segments.push({text: sentence.text, after: sentence.after, kind: kindOf(sentence.text)});
        addSpacing(trailing + line.after);
    }
    return {leading, segments};
}

/** The rewritten segments with the input's own spacing between them. */
export function joinSegments(leading: string, segments: readonly Segment[], rewritten: readonly string[]): string {
    return leading + segments.map((segment, i) => (rewritten[i] ?? "") + segment.after).join("");
}

/**
 * Consecutive chunks of at most `maxTokens` (whole sentences; a longer sentence is a chunk of
 * its own), for summarizing a text longer than one summary can read.
 */
export function chunksForSummary(text: string, countTokens: (text: string) => number, maxTokens: number): string[] {
    const {segments} = splitForRewrite(text);
    const chunks: string[] = [];
    let chunk = "";
    let chunkTokens = 0;
    for (const segment of segments) {
        const tokens = countTokens(segment.text);
        if (chunk.length > 0 && chunkTokens + tokens > maxTokens) {
            chunks.push(chunk.trim());
            chunk = "";
            chunkTokens = 0;
        }
        chunk += segment.text + segment.after;
        chunkTokens += tokens;
    }
    if (chunk.trim().length > 0) chunks.push(chunk.trim());
    return chunks;
}

/**
 * A chunk cut in two, for a part whose summary filled its budget: at the line break that best
 * balances their tokens when one leaves each side a quarter or more (a story, a paragraph stays
 * whole), else at the best-balanced sentence boundary; null for a single sentence.
 */
export function halvesForSummary(text: string, countTokens: (text: string) => number): [string, string] | null {
    const {segments} = splitForRewrite(text);
    if (segments.length < 2) return null;
    const tokens = segments.map((segment) => countTokens(segment.text));
    const total = tokens.reduce((sum, n) => sum + n, 0);
    const cuts: {at: number; gap: number; atBreak: boolean}[] = [];
    let before = 0;
    for (let at = 1; at < segments.length; at++) {
        before += tokens[at - 1] ?? 0;
        const atBreak =
            (segments[at - 1]?.after ?? "").includes("\n") && before >= total / 4 && before <= (3 * total) / 4;
        cuts.push({at, gap: Math.abs(total - 2 * before), atBreak});
    }
    const breaks = cuts.filter((cut) => cut.atBreak);
    const best = (breaks.length > 0 ? breaks : cuts).reduce((a, b) => (b.gap < a.gap ? b : a));
    const join = (part: readonly Segment[]) =>
        part
            .map((segment) => segment.text + segment.after)
            .join("")
            .trim();
    return [join(segments.slice(0, best.at)), join(segments.slice(best.at))];
}

/** The indices 0..count-1 in at most `maxGroups` consecutive groups whose sizes differ by at most one. */
export function groupConsecutive(count: number, maxGroups: number): number[][] {
    const groups = Math.min(count, maxGroups);
    return Array.from({length: groups}, (_, g) => {
        const start = Math.floor((g * count) / groups);
        const end = Math.floor(((g + 1) * count) / groups);
        return Array.from({length: end - start}, (_, i) => start + i);
    });
}
