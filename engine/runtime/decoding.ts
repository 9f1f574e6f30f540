// How every generation decodes, for every method alike. One object, so that whatever caches
// outputs (the benchmark) can key them by it: a change here changes every output.

import {LOOP_GUARD} from "./loopGuard";

export const DECODING = {
    /** Greedy: the paper's setting, and the same text for the same input. */
    temperature: 0,
    /**
     * DRY ("don't repeat yourself") over the generated tokens only: extending a phrase the
     * output already contains costs strength * base^(length - allowedLength) in logits, so a
     * verbatim loop dies within a few tokens while short repeats ("the", names) are free.
     * Unlike a plain repeat penalty it does not punish a translation for reusing "de" or "the".
     * node-llama-cpp puts it before the greedy pick, so it acts at temperature 0, and feeds it
     * only the tokens this generation produced. `lastTokens` must be a number: with its default
     * (null, "the whole history") node-llama-cpp 3.21.1's DRY changed nothing, even at strength 3
     * (checked on a looping email summary; 512 broke the loop).
     */
    dry: {strength: 0.8, base: 1.75, allowedLength: 2, lastTokens: 1024, sequenceBreakers: ["\n", ":", '"', "*"]},
    loopGuard: LOOP_GUARD,
} as const;

export type Decoding = typeof DECODING;
