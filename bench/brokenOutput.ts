// Is an output broken, and why? One pure function over what a user would see (the command, the
// selected text, the result) and what the generation reported (stop reasons, errors, the language
// the benchmark's language ID found). Used by the real-text section of the benchmark.

import {copiedShare, textWords as words} from "../engine/compose/copying";
import {lostFact} from "../engine/compose/facts";
import {taskInstruction} from "../engine/compose/prompt";
import {firstForeignLetter, wordStart} from "../engine/compose/scripts";
import {ALL_TASKS, type AuxTaskId, isToneRewrite, type TaskChain} from "../engine/compose/taskChain";

export const BROKEN_REASONS = [
    "error",
    "empty",
    "loop",
    "wrong-language",
    "cut",
    "content-dropped",
    "placeholder",
    "echo",
    "copied",
    "unchanged",
    "facts-changed",
] as const;
export type BrokenReason = (typeof BROKEN_REASONS)[number];

export interface Finding {
    readonly reason: BrokenReason;
    /** What was found, for the report ("‘i'm glad you like it’ x 12", "ratio 0.21 < 0.60"). */
    readonly detail: string;
}

export interface GenerationFacts {
    /** The engine's error message when the request failed. */
    readonly error: string | null;
    /**
     * Each pass: why it stopped ("eog", "stop-string" = ended by itself; anything else = stopped by
     * a limit) and how many tokens it generated.
     */
    readonly passes: readonly {readonly stopReason: string; readonly generatedTokens: number}[];
    /**
     * The token budget each pass ran with, when the caller knows it; null when the engine decides it.
     * The engine before 2026-12-04 reported "max-tokens" also for generations that ended by themselves
     * (node-llama-cpp's evaluate ends at end-of-turn without yielding it): a "max-tokens" pass with
     * fewer tokens than a known budget ended by itself.
     */
    readonly budget: number | null;
    /**
     * The engine's own word: true when a generation that wrote part of the answer stopped at its
     * token budget (ComposeResult.cutAtBudget). When given it decides "cut"; null for results
     * from an engine that did not say it (then the stop reasons do).
     */
    readonly cutAtBudget: boolean | null;
    /**
     * ISO 639-1 code the language ID gave the output's `languageSample` ("" = none of its
     * candidates); null = not identified.
     */
    readonly detectedLanguage: string | null;
}

/**
 * Stop reasons that mean the generation ended without hitting a limit: the model's end of turn,
 * a stop string, the engine's loop guard, a rewrite stopped after its input's sentences, or the
 * script guard (what they left is judged like any text).
 */
const NATURAL_ENDS = new Set(["eog", "stop-string", "repetition", "overrun", "off-script"]);

// ---- loop / repetition ----

/** The shortest run that counts as a loop: a unit of u words repeated back to back r times with... */
const LOOP_MIN_COPIES = 3;
/** ...at least this many words in all (so one word needs 8 copies, two words 4, three or more 3)... */
const LOOP_MIN_WORDS = 8;
/** ...or any stretch of this many words or more said twice in a row. */
const LOOP_LONG_UNIT = 10;
const LOOP_MAX_UNIT = 40;
/** The same sentence of 4+ words 3+ times anywhere in the output. */
const SENTENCE_MIN_WORDS = 4;
const SENTENCE_MIN_COPIES = 3;
/** The lab's tail check (lab/lab/eval/metrics.py): a 1-40 character piece 6+ times up to the end, 24+ characters. */
const TAIL_LOOP = /(.{1,40}?)\1{5,}\s*$/su;
const TAIL_LOOP_MIN_CHARS = 24;
const TAIL_WINDOW = 2000;
/** This many whitespace-separated marks in a row with no letter or digit ("¡¡¡ ¡¡ ¿ ¿ ? ?") is noise. */
const NOISE_RUN_TOKENS = 8;

function repeated(unit: readonly string[], copies: number): string {
    return Array.from({length: copies}, () => unit.join(" ")).join(" ");
}

/** The longest back-to-back repetition of a word sequence that counts as a loop, or null. */
export function wordLoop(output: string, input: string): {unit: string[]; copies: number} | null {
    const tokens = words(output);
    const inputWords = ` ${words(input).join(" ")} `;
    let worst: {unit: string[]; copies: number; covered: number} | null = null;
    for (let unit = 1; unit <= Math.min(LOOP_MAX_UNIT, Math.floor(tokens.length / 2)); unit++) {
        let run = 0; // consecutive positions j with tokens[j] === tokens[j + unit]
        for (let j = 0; j + unit <= tokens.length; j++) {
            if (j + unit < tokens.length && tokens[j] === tokens[j + unit]) {
                run++;
                continue;
            }
            const copies = 1 + Math.floor(run / unit);
            const covered = run + unit;
            const loops =
                (copies >= LOOP_MIN_COPIES && copies * unit >= LOOP_MIN_WORDS) ||
                (copies >= 2 && unit >= LOOP_LONG_UNIT);
            if (loops && (worst === null || covered > worst.covered)) {
                const start = j - run;
                const found = tokens.slice(start, start + unit);
                // A repetition the input already has (a rewrite of "la la la ...") is not a loop.
                if (!inputWords.includes(` ${repeated(found, copies)} `)) worst = {unit: found, copies, covered};
            }
            run = 0;
        }
    }
    return worst === null ? null : {unit: worst.unit, copies: worst.copies};
}

function sentenceLoop(output: string, input: string): {sentence: string; copies: number} | null {
    const count = (text: string) => {
        const counts = new Map<string, number>();
        for (const piece of text.split(/(?<=[.!?。])\s+|\n+/u)) {
            const sentence = words(piece).join(" ");
            if (sentence.split(" ").length >= SENTENCE_MIN_WORDS) counts.set(sentence, (counts.get(sentence) ?? 0) + 1);
        }
        return counts;
    };
    const inInput = count(input);
    let worst: {sentence: string; copies: number} | null = null;
    for (const [sentence, copies] of count(output))
        if (copies >= SENTENCE_MIN_COPIES && copies > (inInput.get(sentence) ?? 0) && copies > (worst?.copies ?? 0))
            worst = {sentence, copies};
    return worst;
}

/**
 * The text to identify the language of: each sentence once, in order. A looping output fools
 * language ID ("I'm so sorry!" 20 times is Italian to langid), so the loop is judged as a loop
 * and the language on what the output says.
 */
export function languageSample(output: string): string {
    const seen = new Set<string>();
    const kept: string[] = [];
    for (const piece of output.split(/(?<=[.!?。])\s+|\n+/u)) {
        const key = words(piece).join(" ");
        if (key.length === 0 || seen.has(key)) continue;
        seen.add(key);
        kept.push(piece.trim());
    }
    return kept.join(" ");
}

/** The longest run of marks with no letter or digit between them, as written, when it is noise the input has not. */
function noiseRun(output: string, input: string): string | null {
    const longest = (text: string): string[] => {
        let best: string[] = [];
        let run: string[] = [];
        for (const token of text.split(/\s+/u).filter((t) => t.length > 0)) {
            run = /[\p{L}\p{N}]/u.test(token) ? [] : [...run, token];
            if (run.length > best.length) best = run;
        }
        return best;
    };
    const run = longest(output);
    return run.length >= NOISE_RUN_TOKENS && longest(input).length < NOISE_RUN_TOKENS ? run.join(" ") : null;
}

function tailLoop(output: string): string | null {
    const match = TAIL_LOOP.exec(output.slice(-TAIL_WINDOW));
    return match !== null && match[0].trim().length >= TAIL_LOOP_MIN_CHARS ? (match[1] ?? "") : null;
}

// ---- content dropped ----

/**
 * An output shorter than this share of the input's characters has dropped content. Translations:
 * NTREX's human es / fr / de translations are 1.15-1.18 x the English characters (median; 1st
 * percentile 0.84-0.87, sentences of 15+ words), so 0.6 is about half of a full translation.
 * Tones: the teacher's professional / casual / witty rewrites are 0.96-1.03 x (median; 1st
 * percentile 0.33-0.53), so 0.4. A chain of both uses the lower floor.
 */
export const CONTENT_FLOOR: Readonly<Record<"translate" | "tone", number>> = {translate: 0.6, tone: 0.4};
/** Shorter inputs give noisy ratios and are not checked. */
const CONTENT_MIN_INPUT_WORDS = 8;

function contentFloor(aux: readonly AuxTaskId[]): number {
    return Math.min(...aux.map((task) => CONTENT_FLOOR[task.startsWith("translate:") ? "translate" : "tone"]));
}

// ---- copied input ----

// The engine's own copy check (engine/compose/copying.ts) measures the same share; the judge
// keeps its thresholds here, so that a change to the engine's does not move the benchmark.
/** An output with this share of its words in 6-word runs of the input (copiedShare) is the input's own text: */
const COPY_SHARE = 0.9;
/**
 * a summary that keeps this share of the input's words is not a summary (a news paragraph's lead
 * sentence, 0.26 of it, is one); a reply of this many words or more is the email quoted back.
 */
const COPY_SUMMARY_MIN_SHARE_OF_INPUT = 0.4;
const COPY_REPLY_MIN_WORDS = 6;

function copiedInput(command: TaskChain, input: string, output: string): string | null {
    if (command.main === null) return null; // a rewrite keeps its input's words by design
    const outputWords = words(output);
    const inputWords = words(input);
    const share = copiedShare(outputWords, inputWords);
    if (share < COPY_SHARE) return null;
    const copy =
        command.main === "summarize"
            ? inputWords.length >= CONTENT_MIN_INPUT_WORDS &&
              outputWords.length >= COPY_SUMMARY_MIN_SHARE_OF_INPUT * inputWords.length
            : outputWords.length >= COPY_REPLY_MIN_WORDS;
    return copy
        ? `${Math.round(share * 100)}% of its ${outputWords.length} words copied from the input's ${inputWords.length}`
        : null;
}

/**
 * A tone rewrite (into English: no translation in the chain) that keeps this share of its words in
 * 6-word runs of an input of 8+ words gave the input back: at most about one word in ten changed,
 * with at most one change in any six words. A rewrite that changes the wording of its sentences
 * (the teacher's casual rewrite of an email: 0.75-0.85) stays below.
 */
const UNCHANGED_SHARE = 0.9;

function unchangedRewrite(command: TaskChain, input: string, output: string): string | null {
    if (!isToneRewrite(command)) return null;
    const inputWords = words(input);
    if (inputWords.length < CONTENT_MIN_INPUT_WORDS) return null;
    const share = copiedShare(words(output), inputWords);
    return share >= UNCHANGED_SHARE ? `${Math.round(share * 100)}% of its words in 6-word runs of the input` : null;
}

/** A tone rewrite (into English) that lost a number, a name, a "not" or an "if" of its input (engine/compose/facts.ts). */
function changedFacts(command: TaskChain, input: string, output: string): string | null {
    return isToneRewrite(command) ? lostFact(input, output) : null;
}

// ---- placeholders, speaker tags, echoed prompts ----

/** DialogSum's anonymised names: #Person1#, #Person2#, #PhoneNumber#, "#1#". */
const PLACEHOLDER = /#[\p{L}\p{N}_]{1,20}#/gu;
/**
 * A hashtag ("#Steveirs"): what a placeholder becomes when the adapter makes up a name in its form.
 * Fine when the input has it (a post that tags); "C#", "&#39;" and "#42" are not hashtags.
 */
const HASHTAG = /(?<![\p{L}\p{N}&#])#\p{L}[\p{L}\p{N}_]*(?![\p{L}\p{N}_#])/gu;
/** A line opened by a generic speaker label: "Person 1:", "User 2:", "Speaker A:", "Personne 1 :". */
const SPEAKER_TAG =
    /^[ \t]*#?(?:person|personne|persona|user|speaker|sprecher|utilisateur|usuario|benutzer|interlocutor|interlocuteur)[ \t]*(?:\d+|[ab])#?[ \t]*:/imu;
const SPECIAL_TOKENS = ["<start_of_turn>", "<end_of_turn>", "start_of_turn", "end_of_turn", "<bos>", "<eos>"];
/**
 * The first four words of every prompt's instruction ("Summarize the following text", "Suggest a
 * reply for", "Changes a given user's", ...: distinctive, and what an echo cut short still shows).
 */
const ECHOES = [
    ...SPECIAL_TOKENS,
    ...ALL_TASKS.map((task) => taskInstruction(task).split(/\s+/).slice(0, 4).join(" ").replace(/:$/, "")),
];

function expectedLanguage(chain: TaskChain): string {
    const translation = chain.aux.find((task) => task.startsWith("translate:"));
    return translation === undefined ? "en" : translation.slice("translate:".length);
}

const clip = (text: string, max = 60) => (text.length > max ? `${text.slice(0, max)}…` : text);

/**
 * Why `output` of `command` on `input` is broken, or [] when nothing is found. Order: error,
 * empty, cut, loop, wrong-language, content-dropped, placeholder, echo, copied, unchanged,
 * facts-changed. An error or an empty output is reported with the stop reasons only (nothing else
 * can be judged).
 */
export function brokenReasons(command: TaskChain, input: string, output: string, facts: GenerationFacts): Finding[] {
    if (facts.error !== null) return [{reason: "error", detail: clip(facts.error, 120)}];
    const found: Finding[] = [];
    const limited = facts.passes.flatMap(({stopReason: reason, generatedTokens}, pass) => {
        const endedItself =
            NATURAL_ENDS.has(reason) ||
            (reason === "max-tokens" && facts.budget !== null && generatedTokens < facts.budget);
        return endedItself ? [] : [{reason, pass}];
    });
    // The engine's own word wins where it gives one: a summary's chunk that filled its budget is not
    // a cut answer, a rewrite segment that did is.
    const cut = facts.cutAtBudget ?? limited.length > 0;
    const empty = !/[\p{L}\p{N}]/u.test(output);
    if (empty) found.push({reason: "empty", detail: output.length === 0 ? "no text" : "no letters or digits"});
    if (cut) {
        const where =
            limited.length > 0
                ? limited.map((l) => `pass ${l.pass + 1}: ${l.reason}`).join(", ")
                : "the engine says the answer reached its budget";
        const midSentence = !/[.!?…:;"'’”»)\]]\s*$/u.test(output);
        found.push({reason: "cut", detail: `${where}${midSentence && !empty ? ", mid-sentence" : ""}`});
    }
    if (empty) return found;

    const loop = wordLoop(output, input);
    const sentence = loop === null ? sentenceLoop(output, input) : null;
    const tail = loop === null && sentence === null ? tailLoop(output) : null;
    const noise = loop === null && sentence === null && tail === null ? noiseRun(output, input) : null;
    if (loop !== null) found.push({reason: "loop", detail: `"${clip(loop.unit.join(" "))}" x ${loop.copies}`});
    else if (sentence !== null)
        found.push({reason: "loop", detail: `sentence "${clip(sentence.sentence)}" x ${sentence.copies}`});
    else if (tail !== null) found.push({reason: "loop", detail: `ends in "${clip(tail, 20)}" repeated`});
    else if (noise !== null) found.push({reason: "loop", detail: `marks without words: "${clip(noise, 20)}"`});

    const expected = expectedLanguage(command);
    if (facts.detectedLanguage !== null && words(output).length >= 3 && facts.detectedLanguage !== expected)
        found.push({
            reason: "wrong-language",
            detail: `${facts.detectedLanguage || "unidentified"}, not ${expected}`,
        });
    else {
        // A word or two in another script is too short for language ID but plain to a reader.
        const foreign = firstForeignLetter(output, input);
        if (foreign !== null) {
            const word = output.slice(wordStart(output, foreign.index)).split(/\s/u)[0] ?? "";
            found.push({reason: "wrong-language", detail: `${foreign.script} letters ("${clip(word, 30)}")`});
        }
    }

    if (command.main === null && words(input).length >= CONTENT_MIN_INPUT_WORDS) {
        const ratio = output.trim().length / input.trim().length;
        const floor = contentFloor(command.aux);
        if (ratio < floor)
            found.push({reason: "content-dropped", detail: `${ratio.toFixed(2)} of the input's length < ${floor}`});
    }

    const tagsOf = (text: string) => [...(text.match(PLACEHOLDER) ?? []), ...(text.match(HASHTAG) ?? [])];
    const inputTags = new Set(tagsOf(input).map((tag) => tag.toLowerCase()));
    const invented = [...new Set(tagsOf(output))].filter((tag) => !inputTags.has(tag.toLowerCase()));
    const speaker = SPEAKER_TAG.exec(output);
    if (invented.length > 0) found.push({reason: "placeholder", detail: invented.slice(0, 3).join(", ")});
    else if (speaker !== null && !SPEAKER_TAG.test(input))
        found.push({reason: "placeholder", detail: `speaker tag "${speaker[0].trim()}"`});

    const lowerInput = input.toLowerCase();
    const lowerOutput = output.toLowerCase();
    const echo = ECHOES.find((text) => {
        const needle = text.toLowerCase();
        return lowerOutput.includes(needle) && !lowerInput.includes(needle);
    });
    if (echo !== undefined) found.push({reason: "echo", detail: `"${clip(echo)}"`});

    const copied = copiedInput(command, input, output);
    if (copied !== null) found.push({reason: "copied", detail: copied});
    const unchanged = unchangedRewrite(command, input, output);
    if (unchanged !== null) found.push({reason: "unchanged", detail: unchanged});
    // Facts are compared within one language: a rewrite in the wrong one is broken already.
    const changed = found.some((f) => f.reason === "wrong-language") ? null : changedFacts(command, input, output);
    if (changed !== null) found.push({reason: "facts-changed", detail: changed});
    return found;
}
