// What a tone rewrite must keep of its input besides the meaning a reader checks: its numbers, its
// names, its "not"s, its "if"s and "maybe"s, its questions, its quotations and who it is about.
// The tone adapters rewrite one sentence at a time and sometimes turn "guests who want to stay"
// into "guests who don't want to stay", "someting like Eclipse" into "something similar", or "if
// there is something we should discuss I will set up the meeting" into "I will be setting up the
// meeting" (the real-text runs of 2026-12-06); the composer then keeps the sentence as it was
// (composer.ts). The benchmark's judge of broken outputs calls a rewrite that lost one of these
// "facts-changed" (bench/brokenOutput.ts); the lab's filter of the tone adapters' training pairs
// checks some of them (numbers and names lost, negations, a person added) and more
// (lab/lab/data/sources.py, rewrite_changes), and its "-checked" data sets ask lostFact itself
// (lab/node/lost_facts.mjs).

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
/**
 * A word or phrase that makes a statement less than certain or less than whole: "I believe",
 * "to my knowledge", "maybe", "at least", "partly", "something like September". The tone adapters
 * dropped them ("My (and Sam's, I believe) inclination" -> "My (and Sam's) inclination", "they run
 * partly on company time" -> "they run mostly on company time", "I guess you've got to teach me"
 * -> "I'm sure you've got to teach me"; real-text runs of 2026-12-07), which states as certain what
 * was not. Not "may" and "could", which also ask ("May I see it?").
 */
const HEDGE =
    /\b(?:i\s+(?:think|believe|guess|bet|suppose|suspect|assume|reckon)|to\s+my\s+knowledge|as\s+far\s+as\s+i\s+know|probably|possibly|possible|perhaps|maybe|likely|unlikely|apparently|seemingly|seems?|seemed|might|almost|nearly|roughly|approximately|partly|partially|at\s+least|at\s+most|something\s+like|more\s+or\s+less)\b/giu;
/**
 * A question that asks for something done or offers a way ("could you send it?", "may I see your
 * licence?", "how about Friday?", "why don't we try?"), possibly after a word or two set off by
 * commas ("So, could you..."): a rewrite may ask it as a request ("Please send it.") and lose
 * nothing.
 */
const REQUEST =
    /^\s*(?:[\p{L}'’]+,\s+)*(?:(?:can|could|would|will|may|might|shall|won't|wouldn't|couldn't)\s+(?:you|we|i|someone|anyone|somebody|anybody)\b|(?:would|do)\s+you\s+mind\b|(?:how|what)\s+about\b|why\s+(?:don't|don’t|not)\b)|\bplease\b/iu;
/** Links and mail addresses. */
const ADDRESS = /(?:https?:\/\/|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+/gu;
/** Its sentences that end with a question mark, links and mail addresses left out ("?id=3"). */
const questionsIn = (text: string) => text.replace(ADDRESS, " ").match(/[^.!?\n]*\?+/gu) ?? [];
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

const numbersIn = (text: string) => new Set(text.match(/\d+/gu) ?? []);
/** Who a sentence is about: each word here stands for the person in its group's first word. */
const PEOPLE: readonly (readonly [string, ...string[]])[] = [
    ["i", "me", "my", "mine", "myself", "i'm", "i've", "i'll", "i'd"],
    ["we", "us", "our", "ours", "ourselves", "we're", "we've", "we'll", "we'd"],
    ["you", "your", "yours", "yourself", "you're", "you've", "you'll", "you'd"],
    ["he", "him", "his", "himself", "he's", "he'll", "he'd"],
    ["she", "her", "hers", "herself", "she's", "she'll", "she'd"],
    ["they", "them", "their", "theirs", "themselves", "they're", "they've", "they'll", "they'd"],
    ["man", "men", "boy", "boys", "husband", "father", "son", "sons", "brother"],
    ["woman", "women", "girl", "girls", "wife", "mother", "daughter", "daughters", "sister"],
];
/** Who a text is about: the first word of each PEOPLE group it has a word of. */
function personsIn(text: string): string[] {
    const found = new Set(
        text
            .toLowerCase()
            .replace(/’/gu, "'")
            .match(/[\p{L}']+/gu) ?? [],
    );
    return PEOPLE.filter((group) => group.some((word) => found.has(word))).map((group) => group[0]);
}

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
 * What `rewrite` lost or made up of `source`'s facts, or null: a number lost or new, a name
 * (compared without case, so "AD reviews" -> "ad reviews" keeps it), as many negations (NEGATION)
 * as it had, as many conditions (a condition dropped states as certain what was not), as many
 * hedges (HEDGE, likewise), a question that asks (not a request, REQUEST), its quotation marks
 * (someone's words made the writer's: '"Today the situation ... is more stable," he said.' ->
 * "Today, the situation ... is more stable."), or someone it is not about (PEOPLE). The tone
 * adapters answered questions instead of rewriting them ("Really?" -> "Sure.", "How old is Jacky
 * Chan?" -> "Jacky Chan is 18 years old."), made up a year and a link
 * (".../attachments/1/1/1.1.1.html"), and turned "Hana: Okay." into "Hana: I'm pleased to report
 * that the data has been analyzed." (real-text runs of 2026-12-06 and 2026-12-07). Someone left
 * out is not counted, as a request may drop its "me" ("Let me know if it works." -> "Does it
 * work?"); so "I know you have been trying" -> "I have been trying" passes.
 */
export function lostFact(source: string, rewrite: string): string | null {
    const number = numberNotIn(source, rewrite);
    if (number !== undefined) return `the number ${number} is gone`;
    const madeUp = numberNotIn(rewrite, source);
    if (madeUp !== undefined) return `the number ${madeUp} is new`;
    const name = nameNotIn(source, rewrite);
    if (name !== undefined) return `the name "${name}" is gone`;
    const negations = (text: string) => text.match(NEGATION)?.length ?? 0;
    if (negations(source) !== negations(rewrite))
        return `${negations(rewrite)} negations where the input has ${negations(source)}`;
    const conditions = (text: string) => text.match(CONDITION)?.length ?? 0;
    if (conditions(source) !== conditions(rewrite))
        return `${conditions(rewrite)} conditions where the input has ${conditions(source)}`;
    const hedges = (text: string) => text.replace(/’/gu, "'").match(HEDGE)?.length ?? 0;
    if (hedges(rewrite) < hedges(source)) return `${hedges(rewrite)} hedges where the input has ${hedges(source)}`;
    const asked = questionsIn(source).filter((question) => !REQUEST.test(question)).length;
    const questions = questionsIn(rewrite).length;
    if (questions < asked) return `${questions} questions where the input asks ${asked}`;
    const quoteMarks = (text: string) => text.match(/["“”«»„]/gu)?.length ?? 0;
    if (quoteMarks(rewrite) < quoteMarks(source)) return "a quotation lost its quotation marks";
    const about = personsIn(source);
    const newcomer = personsIn(rewrite).find((person) => !about.includes(person));
    if (newcomer !== undefined) return `about "${newcomer}", whom the input is not about`;
    return null;
}

/** For whatever caches outputs: bump when lostFact or what it reads changes. */
export const KEEPS_FACTS_VERSION = "numbers-names-negations-conditions-hedges-questions-quotes-persons-v5";
