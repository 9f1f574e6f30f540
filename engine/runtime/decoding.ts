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
     * node-llama-cpp puts it before the greedy pick, so it acts at temperature 0.
     */
    dry: {strength: 0.8, base: 1.75, allowedLength: 2, sequenceBreakers: ["\n", ":", '"', "*"]},
    loopGuard: LOOP_GUARD,
} as const;

export type Decoding = typeof DECODING;
