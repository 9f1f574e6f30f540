// A task chain is the typed value behind "Summarize to French": at most one main task
// (it reads the input) followed by auxiliary tasks (they rewrite what came before).
// Everything else in the engine takes this value; only `parseTaskChain` reads strings.

import {quote} from "../messages/quote";
import spec from "./tasks.json";

// The task ids are the keys of tasks.json, which the lab reads too: the types below are unions of
// exactly its ids (literal types, not strings), in its order.
export type MainTaskId = keyof typeof spec.mainTasks;
export type AuxTaskId = keyof typeof spec.auxTasks;
export type TaskId = MainTaskId | AuxTaskId;
type TranslationId = Extract<AuxTaskId, `translate:${string}`>;
export type Language = TranslationId extends `translate:${infer Code}` ? Code : never;
type ToneId = Extract<AuxTaskId, `tone:${string}`>;
export type Tone = ToneId extends `tone:${infer Name}` ? Name : never;

/** In the file's order, the order menus, the benchmark and the lab list them in. */
export const MAIN_TASKS = Object.keys(spec.mainTasks) as readonly MainTaskId[];
export const AUX_TASKS = Object.keys(spec.auxTasks) as readonly AuxTaskId[];
export const ALL_TASKS: readonly TaskId[] = [...MAIN_TASKS, ...AUX_TASKS];

function isTranslation(task: AuxTaskId): task is TranslationId {
    return task.startsWith("translate:");
}

export const LANGUAGES: readonly Language[] = AUX_TASKS.filter(isTranslation).map(
    (task) => task.slice("translate:".length) as Language,
);
export const TONES: readonly Tone[] = AUX_TASKS.filter((task) => task.startsWith("tone:")).map(
    (task) => task.slice("tone:".length) as Tone,
);

/** "fr" -> "French". */
export const LANGUAGE_NAMES = Object.fromEntries(
    LANGUAGES.map((code) => [code, spec.auxTasks[`translate:${code}`].language]),
) as Readonly<Record<Language, string>>;

/** A non-empty chain: an optional main task first, then auxiliary tasks, no repeats. */
export interface TaskChain {
    readonly main: MainTaskId | null;
    readonly aux: readonly AuxTaskId[];
}

/** Canonical text form, e.g. "summarize+translate:fr"; used as a key in file names and the protocol. */
export type ChainKey = string & {readonly __brand: "ChainKey"};

export function isMainTask(id: string): id is MainTaskId {
    return (MAIN_TASKS as readonly string[]).includes(id);
}

export function isAuxTask(id: string): id is AuxTaskId {
    return (AUX_TASKS as readonly string[]).includes(id);
}

export function isTaskId(id: string): id is TaskId {
    return isMainTask(id) || isAuxTask(id);
}

export class TaskChainError extends Error {
    override name = "TaskChainError";
}

/** Builds a chain from task ids, enforcing the chain's rules; auxiliary tasks take their canonical order. */
export function taskChain(tasks: readonly TaskId[]): TaskChain {
    if (tasks.length === 0) throw new TaskChainError("A task chain needs at least one task.");
    const [first, ...rest] = tasks;
    const main = first !== undefined && isMainTask(first) ? first : null;
    const aux = main === null ? tasks : rest;
    const seen = new Set<string>();
    for (const task of aux) {
        if (isMainTask(task))
            throw new TaskChainError(
                `"${task}" is a main task: it must come first in a chain, and a chain has at most one.`,
            );
        if (seen.has(task)) throw new TaskChainError(`"${task}" appears twice in the chain.`);
        seen.add(task);
    }
    const languages = aux.filter((task) => task.startsWith("translate:"));
    if (languages.length > 1)
        throw new TaskChainError(`A chain can translate to one language only, got ${languages.join(", ")}.`);
    // One order per set of tasks, so "French, casual" and "casual, French" are the same chain
    // (and find the same calibration).
    return {main, aux: orderAuxTasks(aux as AuxTaskId[])};
}

/** Parses "summarize,translate:fr" or "summarize+translate:fr". */
export function parseTaskChain(text: string): TaskChain {
    const parts = text
        .split(/[,+]/)
        .map((part) => part.trim())
        .filter((part) => part.length > 0);
    for (const part of parts) {
        if (!isTaskId(part))
            throw new TaskChainError(`Unknown task ${quote(part)}. Known tasks: ${ALL_TASKS.join(", ")}.`);
    }
    return taskChain(parts as TaskId[]);
}

/**
 * Auxiliary tasks in the order a chain should run them: the tone adapters rewrite English, so
 * tones come before the translation ("casual, then French"); otherwise the given order is kept.
 */
export function orderAuxTasks(aux: readonly AuxTaskId[]): AuxTaskId[] {
    return [...aux.filter((task) => !isTranslation(task)), ...aux.filter(isTranslation)];
}

export function chainTasks(chain: TaskChain): TaskId[] {
    return chain.main === null ? [...chain.aux] : [chain.main, ...chain.aux];
}

export function chainKey(chain: TaskChain): ChainKey {
    return chainTasks(chain).join("+") as ChainKey;
}

export function isComposite(chain: TaskChain): boolean {
    return chainTasks(chain).length > 1;
}

/** A chain that rewrites English in a tone and nothing else: no main task, no translation. */
export function isToneRewrite(chain: TaskChain): boolean {
    return chain.main === null && chain.aux.every((task) => task.startsWith("tone:"));
}

const MAIN_TASK_NAMES: Readonly<Record<MainTaskId, string>> = {summarize: "Summarize", reply: "Suggest a reply"};

/** "Summarize", "Suggest a reply", "French", "casual tone", "paraphrase". */
export function describeTask(task: TaskId): string {
    if (isMainTask(task)) return MAIN_TASK_NAMES[task];
    if (isTranslation(task)) return LANGUAGE_NAMES[task.slice("translate:".length) as Language];
    return task === "tone:paraphrase" ? "paraphrase" : `${task.slice("tone:".length)} tone`;
}

/** A human title such as "Summarize → French → casual tone". */
export function describeChain(chain: TaskChain): string {
    return chainTasks(chain).map(describeTask).join(" → ");
}
