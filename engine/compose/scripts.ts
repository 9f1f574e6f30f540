// Writing systems. Every language the pack writes (tasks.json: English, Spanish, French, German)
// uses the Latin script, so letters of another script in an output are the model's own invention
// ("Казінобогійна сторона" at the end of a French translation of English news), unless the input
// has letters of that script too (a Greek or Russian name in an English email).

/** Scripts a small multilingual model drifts into; a letter of any other script is never flagged. */
const OTHER_SCRIPTS = [
    "Cyrillic",
    "Greek",
    "Armenian",
    "Georgian",
    "Hebrew",
    "Arabic",
    "Devanagari",
    "Bengali",
    "Tamil",
    "Thai",
    "Han",
    "Hiragana",
    "Katakana",
    "Hangul",
] as const;
export type OtherScript = (typeof OTHER_SCRIPTS)[number];

const LETTER_OF: ReadonlyMap<OtherScript, RegExp> = new Map(
    OTHER_SCRIPTS.map((script) => [script, new RegExp(`\\p{Script=${script}}`, "u")]),
);

/**
 * A finder of letters an output of a task on `input` must not contain: those of the scripts above
 * that the input does not use. Null when there is none to look for (the input uses them all).
 */
export function foreignLetters(input: string): RegExp | null {
    const foreign = OTHER_SCRIPTS.filter((script) => !LETTER_OF.get(script)?.test(input));
    return foreign.length === 0 ? null : new RegExp(`[${foreign.map((s) => `\\p{Script=${s}}`).join("")}]`, "u");
}

/** The first letter of `text` in a script foreign to `input`, with its script, or null. */
export function firstForeignLetter(text: string, input: string): {index: number; script: OtherScript} | null {
    const index = foreignLetters(input)?.exec(text)?.index;
    if (index === undefined) return null;
    const letter = String.fromCodePoint(text.codePointAt(index) ?? 0);
    const script = OTHER_SCRIPTS.find((s) => LETTER_OF.get(s)?.test(letter)) ?? OTHER_SCRIPTS[0];
    return {index, script};
}

/** Where the word holding `index` begins (after the whitespace before it). */
export function wordStart(text: string, index: number): number {
    const before = text.slice(0, index).search(/\S*$/u);
    return before < 0 ? index : before;
}
