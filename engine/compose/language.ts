// Which of the pack's languages a text is written in, from its most common short words. A one-pass
// composite that translates ("Summarize to French") sometimes answers in English: given a
// first-person list post, the summarizer copied it and the composite kept the English (the
// real-text runs of 2026-12-05). The composer checks the answer with this and translates an
// English one in a second pass (composer.ts). Only "clearly English" matters there, so words that
// two of the languages share are left out of the lists, and a short or mixed text is "unknown".

import type {Language} from "./taskChain";

export type Written = "en" | Language;

/** For whatever caches outputs: bump when the word lists or the thresholds change. */
export const LANGUAGE_CHECK_VERSION = "common-words-v1";

const COMMON_WORDS: Readonly<Record<Written, ReadonlySet<string>>> = {
    en: new Set(
        "the and of to is that it for with they are his her be have has this will at by from not but which were their you we my your would there what been because".split(
            " ",
        ),
    ),
    es: new Set(
        "el los las del y es por con para se su sus al lo como más pero fue ha han está son yo este esta muy también hay".split(
            " ",
        ),
    ),
    fr: new Set(
        "le les des du et est une qui pour dans sur au aux il elle ils pas ne avec ce cette son sa ses sont été nous vous mais par plus".split(
            " ",
        ),
    ),
    de: new Set(
        "der das und ist nicht ein eine zu den dem des mit sich auf für von im sie er wir ich auch wird wurde hat haben sind bei aus dass nach wie aber oder".split(
            " ",
        ),
    ),
};
const LANGUAGES_KNOWN = Object.keys(COMMON_WORDS) as Written[];

/** Fewer of the common words than this: too little text to tell. */
const MIN_COMMON_WORDS = 4;
/** The leading language must have this many times the common words of the next: else mixed. */
const LEAD = 2;

/** The language of `text` when its common words say so clearly; null when short or mixed. */
export function writtenIn(text: string): Written | null {
    const words = text.toLowerCase().match(/\p{L}+(?:['’]\p{L}+)?/gu) ?? [];
    const counts = LANGUAGES_KNOWN.map((language) => ({
        language,
        count: words.filter((word) => COMMON_WORDS[language].has(word)).length,
    })).sort((a, b) => b.count - a.count);
    const [first, second] = counts;
    if (first === undefined || second === undefined || first.count < MIN_COMMON_WORDS) return null;
    return first.count >= LEAD * second.count ? first.language : null;
}
