// How every generation decodes, for every method alike. One value, so that whatever caches
// outputs (the benchmark) can key them by it: a change here changes every output.

import {LOOP_GUARD, type LoopGuardOptions} from "./loopGuard";

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
};

/** The paper's decoding (greedy, nothing else): the benchmark's baseline for what DECODING changes. */
export const PAPER_DECODING: Decoding = {
    temperature: 0,
    dry: null,
    loopGuard: null,
    wholeSentences: false,
    scriptGuard: false,
};
