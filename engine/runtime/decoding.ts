// How every generation decodes, for every method alike. One value, so that whatever caches
// outputs (the benchmark) can key them by it: a change here changes every output.

import type {CopyPenaltyOptions} from "./copyPenalty";
import {LOOP_GUARD, type LoopGuardOptions} from "./loopGuard";

/** A seeded sampling setting: the same text for the same input, though not greedy's. */
export interface Sampling {
    readonly temperature: number;
    readonly seed: number;
}

export interface Decoding {
    /** 0: greedy, the paper's setting, and the same text for the same input. */
    readonly temperature: number;
    /** node-llama-cpp's DRY penalty over the generated tokens, or none. */
    readonly dry: {
        readonly strength: number;
        readonly base: number;
        readonly allowedLength: number;
        readonly lastTokens: number;
        readonly sequenceBreakers: readonly string[];
    } | null;
    /** Stop a verbatim token loop (loopGuard.ts), or never. */
    readonly loopGuard: LoopGuardOptions | null;
    /**
     * Keep a summary or reply to whole sentences: end before a sentence that restates earlier
     * ones, and leave out an unfinished last sentence when the budget runs out.
     */
    readonly wholeSentences: boolean;
    /**
     * Stop where the output turns to a script neither the input nor any language the pack writes
     * uses (compose/scripts.ts), dropping the rest; for generations that stream by sentence, and
     * only after a word in a right script (an answer in another script from its start is left whole).
     */
    readonly scriptGuard: boolean;
    /**
     * A rewrite of one sentence that fills its budget has left the sentence for text of its own,
     * and greedy decoding writes the same runaway every time: it is tried again with each of these
     * in turn, and the first try that ends by itself is kept (compose/composer.ts).
     */
    readonly runawayRetries: readonly Sampling[];
    /**
     * A reply that is mostly its email's own words is written again, still greedy, with copying
     * the email penalised (copyPenalty.ts); the composer keeps that try when it is not a copy too.
     * Null: a copied reply stays. Tone rewrites do not use it: the sentences it forced off the
     * adapters' copies read wrong more often than not (docs/method.md).
     */
    readonly copyPenalty: CopyPenaltyOptions | null;
}

/** What users get. */
export const DECODING: Decoding = {
    temperature: 0,
    /**
     * DRY ("don't repeat yourself"): extending a phrase the output already contains costs
     * strength * base^(length - allowedLength) in logits, so a verbatim loop dies within a few
     * tokens while short repeats ("the", names) are free. Unlike a plain repeat penalty it does
     * not punish a translation for reusing "de" or "the". node-llama-cpp puts it before the
     * greedy pick, so it acts at temperature 0, and feeds it only the tokens this generation
     * produced. `lastTokens` must be a number: node-llama-cpp documents null as "the whole
     * history" but passes it to llama.cpp as -1, which its llama.cpp clamps to 0, "off"; DRY then
     * changes nothing, even at strength 3 (3.21.1 and 3.22.1, a looping email summary; 512 broke
     * the loop; test/integration/decodingDry.test.ts checks both).
     */
    dry: {strength: 0.8, base: 1.75, allowedLength: 2, lastTokens: 1024, sequenceBreakers: ["\n", ":", '"', "*"]},
    loopGuard: LOOP_GUARD,
    wholeSentences: true,
    scriptGuard: true,
    /**
     * translate:fr (next pack) on 400 DialogSum dev turns, greedy: 5 ran past their budget ("What
     * do you want, a single or a double one?" -> 40 tokens about cars); 0.4 / seed 1 ended 4 of
     * them by themselves, 0.7 / seed 1 all 5.
     */
    runawayRetries: [
        {temperature: 0.4, seed: 1},
        {temperature: 0.7, seed: 1},
    ],
    copyPenalty: {strength: 0.8, base: 1.75, allowedLength: 2},
};

/** The paper's decoding (greedy, nothing else): the benchmark's baseline for what DECODING changes. */
export const PAPER_DECODING: Decoding = {
    temperature: 0,
    dry: null,
    loopGuard: null,
    wholeSentences: false,
    scriptGuard: false,
    runawayRetries: [],
    copyPenalty: null,
};
