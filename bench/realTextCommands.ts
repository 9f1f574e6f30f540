// The real-text section's commands (every one a user has: each task alone, the 14 composites,
// chains of three) and which genres each applies to: a reply answers a message (emails,
// dialogues, customer messages), not a news paragraph or a long document.

import {
    AUX_TASKS,
    type ChainKey,
    chainKey,
    MAIN_TASKS,
    parseTaskChain,
    type TaskId,
    taskChain,
} from "../engine/compose/taskChain";

export const GENRES = ["email", "news", "dialogue", "customer", "long"] as const;
export type Genre = (typeof GENRES)[number];

export const GENRE_TITLES: Readonly<Record<Genre, string>> = {
    email: "emails",
    news: "news paragraphs",
    dialogue: "dialogues",
    customer: "customer messages",
    long: "long documents",
};

const chain = (...tasks: TaskId[]): ChainKey => chainKey(taskChain(tasks));

/** Three-task chains a user builds in the editor's Compose... menu (main, tone, language). */
export const THREE_TASK_CHAINS: readonly ChainKey[] = [
    chain("summarize", "tone:casual", "translate:fr"),
    chain("summarize", "tone:professional", "translate:es"),
    chain("reply", "tone:professional", "translate:de"),
    chain("reply", "tone:casual", "translate:fr"),
];

/** Every command, in report order: single tasks, the 14 composites, the three-task chains. */
export const COMMANDS: readonly ChainKey[] = [
    ...MAIN_TASKS.map((task) => chain(task)),
    ...AUX_TASKS.map((task) => chain(task)),
    ...MAIN_TASKS.flatMap((main) => AUX_TASKS.map((aux) => chain(main, aux))),
    ...THREE_TASK_CHAINS,
];

/** On long documents: the summary, a translation and the headline "Summarize to French". */
export const LONG_DOCUMENT_COMMANDS: readonly ChainKey[] = [
    chain("summarize"),
    chain("translate:fr"),
    chain("summarize", "translate:fr"),
];

/** `--real-text-commands`: a comma-separated list of the commands above. */
export function parseRealTextCommands(list: string): ChainKey[] {
    return list.split(",").map((text) => {
        const key = chainKey(parseTaskChain(text.trim()));
        if (!COMMANDS.includes(key))
            throw new Error(`"${text}" is not a real-text command; they are: ${COMMANDS.join(", ")}.`);
        return key;
    });
}

export function parseRealTextGenres(list: string): Genre[] {
    return list.split(",").map((text) => {
        const genre = GENRES.find((g) => g === text.trim());
        if (genre === undefined) throw new Error(`"${text}" is not a real-text genre; they are: ${GENRES.join(", ")}.`);
        return genre;
    });
}

export function appliesTo(command: ChainKey, genre: Genre): boolean {
    if (genre === "long") return LONG_DOCUMENT_COMMANDS.includes(command);
    const replies = command === "reply" || command.startsWith("reply+");
    return !replies || genre === "email" || genre === "dialogue" || genre === "customer";
}

/** Inputs per genre in the default run (about 620 generations; bench/README.md has the estimate). */
export const DEFAULT_INPUTS: Readonly<Record<Genre, number>> = {email: 8, news: 6, dialogue: 6, customer: 6, long: 3};
/** At most this many long documents (1,500 / 2,500 / 3,900 words), whatever --real-text-n says. */
export const MAX_LONG_DOCUMENTS = 3;

export interface RealTextPlanShape {
    /** genre -> the commands run on it. */
    readonly commands: Readonly<Partial<Record<Genre, readonly ChainKey[]>>>;
    /** genre -> inputs per command. */
    readonly inputs: Readonly<Partial<Record<Genre, number>>>;
    /** Take the shortest inputs instead of a seeded sample. */
    readonly shortest: boolean;
}

/**
 * What a run covers. The quick mode is a plumbing check: 3 commands (a main task, a translation,
 * a three-task chain) on the 2 shortest inputs of the two genres every command applies to.
 */
export function realTextShape(options: {
    quick: boolean;
    n: number | null;
    only?: readonly ChainKey[] | null;
    genres?: readonly Genre[] | null;
}): RealTextPlanShape {
    if (options.quick) {
        const commands = [chain("summarize"), chain("translate:de"), THREE_TASK_CHAINS[2] as ChainKey];
        return {commands: {email: commands, customer: commands}, inputs: {email: 1, customer: 1}, shortest: true};
    }
    const commands: Partial<Record<Genre, ChainKey[]>> = {};
    const inputs: Partial<Record<Genre, number>> = {};
    for (const genre of options.genres ?? GENRES) {
        commands[genre] = COMMANDS.filter(
            (command) => appliesTo(command, genre) && (!options.only || options.only.includes(command)),
        );
        inputs[genre] =
            options.n === null
                ? DEFAULT_INPUTS[genre]
                : genre === "long"
                  ? Math.min(options.n, MAX_LONG_DOCUMENTS)
                  : options.n;
    }
    return {commands, inputs, shortest: false};
}
