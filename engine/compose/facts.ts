// What a tone rewrite must keep of its input besides the meaning a reader checks: its numbers, its
// names and its "not"s. The tone adapters rewrite one sentence at a time and sometimes turn
// "guests who want to stay" into "guests who don't want to stay" or "someting like Eclipse" into
// "something similar" (the real-text runs of 2026-12-06); the composer then keeps the sentence as
// it was (composer.ts). The benchmark's judge of broken outputs calls a rewrite that lost one of
// these "facts-changed" (bench/brokenOutput.ts); the lab's filter of the tone adapters' training
// pairs checks these and more (lab/lab/data/sources.py, rewrite_changes).

const NEGATION = /\b(?:not|cannot|never)\b|n't\b/giu;
/** Where a sentence, a line or a quote starts: its first word is capitalized whatever it is. */
const OPENING = /(?<=[.!?:;"“”(])\s+|\s+(?=["“(])|\n+/u;

/** Capitalized words that do not open a sentence, a line or a quote, and are not "I"; lowercased. */
export function namesIn(text: string): Set<string> {
    const names = new Set<string>();
    for (const sentence of text.split(OPENING)) {
        const tokens = sentence.match(/[\p{L}\p{N}'’.-]+/gu) ?? [];
        for (const token of tokens.slice(1)) {
            const name = token.replace(/^[.'’]+|[.'’]+$/gu, "");
            if (/^\p{Lu}/u.test(name) && !/^I(?:$|['’])/u.test(name)) names.add(name.toLowerCase());
        }
    }
    return names;
}

/**
 * What `rewrite` lost of `source`'s facts, or null: a number, a name (compared without case, so
 * "AD reviews" -> "ad reviews" keeps it), or as many "not" / "cannot" / "n't" / "never" as it had.
 */
export function lostFact(source: string, rewrite: string): string | null {
    const numbers = (text: string) => new Set(text.match(/\d+/gu) ?? []);
    const kept = numbers(rewrite);
    const number = [...numbers(source)].find((n) => !kept.has(n));
    if (number !== undefined) return `the number ${number} is gone`;
    const lower = rewrite.toLowerCase();
    const name = [...namesIn(source)].find((n) => !lower.includes(n));
    if (name !== undefined) return `the name "${name}" is gone`;
    const negations = (text: string) => text.match(NEGATION)?.length ?? 0;
    if (negations(source) !== negations(rewrite))
        return `${negations(rewrite)} negations where the input has ${negations(source)}`;
    return null;
}

/** For whatever caches outputs: bump when lostFact or what it reads changes. */
export const KEEPS_FACTS_VERSION = "numbers-names-not-v2";
