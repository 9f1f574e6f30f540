// What a tone rewrite must keep of its input besides the meaning a reader checks: its numbers, its
// names, its "not"s and its "if"s. The tone adapters rewrite one sentence at a time and sometimes
// turn "guests who want to stay" into "guests who don't want to stay", "someting like Eclipse"
// into "something similar", or "if there is something we should discuss I will set up the
// meeting" into "I will be setting up the meeting" (the real-text runs of 2026-12-06); the
// composer then keeps the sentence as it was (composer.ts). The benchmark's judge of broken outputs
// calls a rewrite that lost one of these "facts-changed" (bench/brokenOutput.ts); the lab's filter
// of the tone adapters' training pairs checks all but the conditions, and more
// (lab/lab/data/sources.py, rewrite_changes).

/**
 * The words that negate, as the lab's filter of training pairs counts them (lab/lab/data/sources.py,
 * _NEGATION), with "cannot" and the casual "nope" / "nah" ("No." -> "Nope." keeps the answer).
 * "not" / "n't" / "never" alone let "I don't doubt Darcy's report at all, nor do I doubt Javier's"
 * become "Darcy's report was not accurate, and I doubt Javier's" (one negation each; a real
 * paraphrase of 2026-12-07).
 */
const NEGATION = /\b(?:not|cannot|no|nope|nah|never|nothing|none|nobody|neither|nor|without)\b|n't\b/giu;
/**
 * An "if" or "unless" that makes a statement conditional. Not an "if" that asks ("let me know if it
 * works", "I wonder if") or is a courtesy ("I'd be grateful if you could confirm"), nor "as if" and
 * "what if": a rewrite turns those into "does it work?" or "could you confirm?" and loses nothing.
 */
const CONDITION =
    /(?<!\b(?:know|knows|knew|ask|asks|asked|asking|wonder|wondering|wondered|see|check|confirm|tell|sure|unsure|doubt|appreciate it|appreciated it|grateful|glad|happy|great|nice|helpful|mind|as|what)(?:\s+(?:me|us|him|her|them|you))?[\s,]+)\b(?:if|unless)\b/giu;
/** Where a sentence, a line or a quote starts: its first word is capitalized whatever it is. */
const OPENING = /(?<=[.!?:;"“”(])\s+|\s+(?=["“(])|\n+/u;

/** Capitalized words that do not open a sentence, a line or a quote, and are not "I"; as written. */
function writtenNamesIn(text: string): Set<string> {
    const names = new Set<string>();
    for (const sentence of text.split(OPENING)) {
        const tokens = sentence.match(/[\p{L}\p{N}'’.-]+/gu) ?? [];
        for (const token of tokens.slice(1)) {
            const name = token.replace(/^[.'’]+|[.'’]+$/gu, "");
            if (/^\p{Lu}/u.test(name) && !/^I(?:$|['’])/u.test(name)) names.add(name);
        }
    }
    return names;
}

/** Capitalized words that do not open a sentence, a line or a quote, and are not "I"; lowercased. */
export function namesIn(text: string): Set<string> {
    return new Set([...writtenNamesIn(text)].map((name) => name.toLowerCase()));
}

const numbersIn = (text: string) => new Set(text.match(/\d+/gu) ?? []);
/** Links and mail addresses, without the brackets or punctuation around them. */
const addressesIn = (text: string) =>
    (text.match(/(?:https?:\/\/|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+/gu) ?? []).map((a) =>
        a.replace(/[>)\].,;:!?'"]+$/u, ""),
    );
/** A quotation: someone's words between double quotes, or between single quotes that are not apostrophes. */
export const QUOTATION = /["“”«»„]|(?:^|\s)['‘][^'‘’]+['’](?=[\s.,;:!?]|$)/u;
/** Who a sentence is about: each word here stands for the person in its group's first word. */
const PEOPLE: readonly (readonly string[])[] = [
    ["i", "me", "my", "mine", "myself", "i'm", "i've", "i'll", "i'd"],
    ["we", "us", "our", "ours", "ourselves", "we're", "we've", "we'll", "we'd"],
    ["you", "your", "yours", "yourself", "you're", "you've", "you'll", "you'd"],
    ["he", "him", "his", "himself", "he's", "he'll", "he'd"],
    ["she", "her", "hers", "herself", "she's", "she'll", "she'd"],
    ["they", "them", "their", "theirs", "themselves", "they're", "they've", "they'll", "they'd"],
    ["man", "men", "boy", "boys", "husband", "father", "son", "sons", "brother"],
    ["woman", "women", "girl", "girls", "wife", "mother", "daughter", "daughters", "sister"],
];
/** How much, how long, how far: a quantity's unit ("150 yuan per day" is not "$150 a month"). */
const UNIT =
    /\b(?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|decades?|dollars?|euros?|pounds?|yuan|yen|cents?|percent|miles?|kilometres?|kilometers?|km|metres?|meters?|feet|foot|inch(?:es)?|kilos?|kilograms?|grams?)\b/giu;
/** Prefixes that turn a word into its opposite ("disagree", "unhappy", "impossible"). */
const NEGATING_PREFIXES = ["dis", "un", "in", "im", "il", "ir", "non"];

/** A number of `text` that `other` does not have. */
const numberNotIn = (text: string, other: string) => {
    const others = numbersIn(other);
    return [...numbersIn(text)].find((n) => !others.has(n));
};
/** A name of `text` (lowercased) that `other` does not hold, whatever its case. */
const nameNotIn = (text: string, other: string) => {
    const lower = other.toLowerCase();
    return [...namesIn(text)].find((n) => !lower.includes(n));
};

/**
 * What `rewrite` lost of `source`'s facts, or null: a number, a name (compared without case, so
 * "AD reviews" -> "ad reviews" keeps it), as many negations (NEGATION) as it had, or
 * as many conditions (a condition dropped states as certain what was not).
 */
export function lostFact(source: string, rewrite: string): string | null {
    const number = numberNotIn(source, rewrite);
    if (number !== undefined) return `the number ${number} is gone`;
    const name = nameNotIn(source, rewrite);
    if (name !== undefined) return `the name "${name}" is gone`;
    const negations = (text: string) => text.match(NEGATION)?.length ?? 0;
    if (negations(source) !== negations(rewrite))
        return `${negations(rewrite)} negations where the input has ${negations(source)}`;
    const conditions = (text: string) => text.match(CONDITION)?.length ?? 0;
    if (conditions(source) !== conditions(rewrite))
        return `${conditions(rewrite)} conditions where the input has ${conditions(source)}`;
    return null;
}

/**
 * What a rewrite that was forced off its input (the copy penalty, composer.ts) changed of
 * `source`'s facts, or null. Stricter than lostFact, because such a rewrite writes what the model
 * found second likeliest: it also must not add a number or a name, change a name's case
 * ("Valentino" -> "valentino", "IESG" -> "iESG"), lose a link or a mail address, change who the
 * sentence is about ("after we cracked it" -> "after I cracked it"), change a unit ("150 yuan per
 * day" -> "$150 a month"), or turn a word into its opposite by a prefix ("I won't disagree" ->
 * "I won't agree").
 */
export function changedFact(source: string, rewrite: string): string | null {
    const lost = lostFact(source, rewrite);
    if (lost !== null) return lost;
    const number = numberNotIn(rewrite, source);
    if (number !== undefined) return `the number ${number} is new`;
    const added = nameNotIn(rewrite, source);
    if (added !== undefined) return `the name "${added}" is new`;
    const recased = [...writtenNamesIn(source)].find((n) => !rewrite.includes(n));
    if (recased !== undefined) return `the name "${recased}" is not written as it was`;
    const address = addressesIn(source).find((a) => !rewrite.includes(a));
    if (address !== undefined) return `the address ${address} is gone`;
    const persons = (text: string) => {
        const found = new Set(
            text
                .toLowerCase()
                .replace(/’/gu, "'")
                .match(/[\p{L}']+/gu) ?? [],
        );
        return PEOPLE.filter((group) => group.some((word) => found.has(word))).map((group) => group[0]);
    };
    const [sourcePersons, rewritePersons] = [persons(source), persons(rewrite)];
    if (sourcePersons.join() !== rewritePersons.join())
        return `about ${rewritePersons.join(", ") || "no one"} where the input is about ${sourcePersons.join(", ") || "no one"}`;
    const units = (text: string) =>
        [...new Set((text.match(UNIT) ?? []).map((u) => u.toLowerCase().replace(/(?<=ch)es$|s$/u, "")))].sort();
    if (units(source).join() !== units(rewrite).join())
        return `the units ${units(rewrite).join(", ") || "none"} where the input has ${units(source).join(", ") || "none"}`;
    const words = (text: string) => new Set(text.toLowerCase().match(/\p{L}+/gu) ?? []);
    const [sourceWords, rewriteWords] = [words(source), words(rewrite)];
    // A new word that is an input word with a negating prefix added or taken away.
    for (const word of rewriteWords)
        if (!sourceWords.has(word))
            for (const prefix of NEGATING_PREFIXES) {
                const opposite = word.startsWith(prefix) ? word.slice(prefix.length) : `${prefix}${word}`;
                if (opposite.length >= 3 && sourceWords.has(opposite) && !rewriteWords.has(opposite))
                    return `"${opposite}" became "${word}"`;
            }
    return null;
}

/** For whatever caches outputs: bump when lostFact or what it reads changes. */
export const KEEPS_FACTS_VERSION = "numbers-names-negations-conditions-v4";
