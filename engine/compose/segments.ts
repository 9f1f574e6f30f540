// Splitting a text into pieces a rewrite can take one at a time, and joining the rewritten
// pieces back with the original spacing, so no part of a long input is silently dropped.

export interface Segment {
    /** The text to rewrite (never only whitespace). */
    readonly text: string;
    /** What followed it in the input (paragraph breaks, spaces), kept as is in the output. */
    readonly after: string;
}

/** Sentence ends: terminal punctuation, closing quotes or brackets, then whitespace. */
const SENTENCE_BREAK = /(?<=[.!?。！？]["'”’)\]]*)\s+/u;

function sentences(paragraph: string): {text: string; after: string}[] {
    const parts: {text: string; after: string}[] = [];
    let rest = paragraph;
    for (;;) {
        const match = SENTENCE_BREAK.exec(rest);
        if (match === null) break;
        parts.push({text: rest.slice(0, match.index), after: match[0]});
        rest = rest.slice(match.index + match[0].length);
    }
    if (rest.length > 0) parts.push({text: rest, after: ""});
    return parts;
}

/**
 * Paragraphs (split at blank lines), and a paragraph longer than `maxTokens` split into runs of
 * whole sentences that fit. A sentence longer than `maxTokens` stays whole: cutting it would
 * hurt the rewrite more than its length does. Leading whitespace is kept in `leading`.
 */
export function splitForRewrite(
    text: string,
    countTokens: (text: string) => number,
    maxTokens: number,
): {leading: string; segments: Segment[]} {
    const leading = text.match(/^\s*/u)?.[0] ?? "";
    const segments: Segment[] = [];
    const body = text.slice(leading.length);
    const paragraphs = body.split(/(\r?\n[ \t]*\r?\n\s*)/u);
    for (let i = 0; i < paragraphs.length; i += 2) {
        const paragraph = paragraphs[i] ?? "";
        const breakAfter = paragraphs[i + 1] ?? "";
        const trailing = paragraph.match(/\s*$/u)?.[0] ?? "";
        const content = paragraph.slice(0, paragraph.length - trailing.length);
        if (content.length === 0) {
            // Whitespace between paragraphs belongs to the previous segment's spacing.
            const last = segments.pop();
            if (last !== undefined) segments.push({text: last.text, after: last.after + trailing + breakAfter});
            continue;
        }
        if (countTokens(content) <= maxTokens) {
            segments.push({text: content, after: trailing + breakAfter});
            continue;
        }
        let run = "";
        let runAfter = "";
        const parts = sentences(content);
        for (const [index, part] of parts.entries()) {
            const candidate = run.length === 0 ? part.text : run + runAfter + part.text;
            if (run.length > 0 && countTokens(candidate) > maxTokens) {
                segments.push({text: run, after: runAfter});
                run = part.text;
            } else run = candidate;
            runAfter = part.after;
            if (index === parts.length - 1) segments.push({text: run, after: runAfter + trailing + breakAfter});
        }
    }
    return {leading, segments};
}

/** The rewritten segments with the input's own spacing between them. */
export function joinSegments(leading: string, segments: readonly Segment[], rewritten: readonly string[]): string {
    return leading + segments.map((segment, i) => (rewritten[i] ?? "") + segment.after).join("");
}

/**
 * Consecutive chunks of at most `maxTokens` (by paragraphs, then sentences), for summarizing a
 * text longer than one summary can read.
 */
export function chunksForSummary(text: string, countTokens: (text: string) => number, maxTokens: number): string[] {
    const {segments} = splitForRewrite(text, countTokens, maxTokens);
    const chunks: string[] = [];
    let chunk = "";
    for (const segment of segments) {
        const candidate = chunk.length === 0 ? segment.text : `${chunk}\n\n${segment.text}`;
        if (chunk.length > 0 && countTokens(candidate) > maxTokens) {
            chunks.push(chunk);
            chunk = segment.text;
        } else chunk = candidate;
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks;
}
