// Where sentences end. One definition for everything that cuts text at sentence boundaries:
// rewrites read one sentence at a time (segments.ts), summaries and replies end on a whole
// sentence and rewrites stop after their input's sentences (runtime/generate.ts).

/**
 * A sentence's closing mark, with any closing quotes or brackets after it (French sets a space
 * before "»", which never opens a quote).
 */
const MARK = String.raw`[.!?。！？](?:["'”’)\]]|\s?»)*`;

/**
 * A period that ends an abbreviation or an initial ("Mr.", "e.g.", "J. Smith", "U.S.") does not
 * end the sentence; cutting there would send "Mr." to be translated on its own.
 */
const NOT_AN_ABBREVIATION = String.raw`(?<!(?:^|[\s("'“‘])(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|etc|e\.g|i\.e|cf|approx|No|Inc|Ltd|Co|Corp|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)(?<!(?:^|[\s(.])\p{Lu}\.)`;

/** The whitespace between two sentences. */
const BREAK = new RegExp(`(?<=${MARK})${NOT_AN_ABBREVIATION}\\s+`, "u");
/** A sentence end that more text follows: the sentence before it is finished. */
const FINISHED = new RegExp(`${MARK}${NOT_AN_ABBREVIATION}(?=\\s+\\S)`, "gu");
/** Text that ends on a sentence's closing mark. */
const ENDS_ON_MARK = new RegExp(`${MARK}\\s*$`, "u");
const ENDS = new RegExp(`${MARK}${NOT_AN_ABBREVIATION}(\\s+|$)`, "gu");

export interface Sentence {
    readonly text: string;
    /** The whitespace that followed it ("" for the last). */
    readonly after: string;
}

/** The text's sentences in order; their texts and spacing join back to the text exactly. */
export function splitSentences(text: string): Sentence[] {
    const parts: Sentence[] = [];
    let rest = text;
    for (;;) {
        const match = BREAK.exec(rest);
        if (match === null) break;
        parts.push({text: rest.slice(0, match.index), after: match[0]});
        rest = rest.slice(match.index + match[0].length);
    }
    if (rest.length > 0) parts.push({text: rest, after: ""});
    return parts;
}

export function endsOnSentenceMark(text: string): boolean {
    return ENDS_ON_MARK.test(text);
}

/** The offset just past the last finished sentence and its spacing (0 if none). */
export function finishedSentencesEnd(text: string): number {
    let end = 0;
    for (const match of text.matchAll(ENDS)) end = (match.index ?? 0) + match[0].length;
    return end;
}

/** Where the text's last sentence begins (0 if it is the only one). */
export function lastSentenceStart(text: string): number {
    return finishedSentencesEnd(text.replace(ENDS_ON_MARK, ""));
}

/**
 * Where the text should end to hold at most `count` sentences: the offset just past the
 * count-th sentence's mark once a further sentence has begun, or null while it has not.
 */
export function endAfterSentences(text: string, count: number): number | null {
    let seen = 0;
    for (const match of text.matchAll(FINISHED)) {
        seen++;
        if (seen === count) return (match.index ?? 0) + match[0].length;
    }
    return null;
}
