// A task chain is the typed value behind "Summarize to French": at most one main task
// (it reads the input) followed by auxiliary tasks (they rewrite what came before).
// Everything else in the engine takes this value; only `parseTaskChain` reads strings.

import {quote} from "../messages/quote";

export const MAIN_TASKS = ["summarize", "reply"] as const;
export const LANGUAGES = ["es", "fr", "de"] as const;
export const TONES = ["professional", "casual", "witty", "paraphrase"] as const;

export type MainTaskId = (typeof MAIN_TASKS)[number];
export type Language = (typeof LANGUAGES)[number];
export type Tone = (typeof TONES)[number];
export type AuxTaskId = `translate:${Language}` | `tone:${Tone}`;
export type TaskId = MainTaskId | AuxTaskId;

export const AUX_TASKS: readonly AuxTaskId[] = [
    ...LANGUAGES.map((lang) => `translate:${lang}` as const),
    ...TONES.map((tone) => `tone:${tone}` as const),
];
export const ALL_TASKS: readonly TaskId[] = [...MAIN_TASKS, ...AUX_TASKS];

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
    const isTranslation = (task: AuxTaskId) => task.startsWith("translate:");
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

export function describeTask(task: TaskId): string {
    switch (task) {
        case "summarize":
            return "Summarize";
        case "reply":
            return "Suggest a reply";
        case "translate:es":
            return "Spanish";
        case "translate:fr":
            return "French";
        case "translate:de":
            return "German";
        case "tone:professional":
            return "professional tone";
        case "tone:casual":
            return "casual tone";
        case "tone:witty":
            return "witty tone";
        case "tone:paraphrase":
            return "paraphrase";
    }
}

/** A human title such as "Summarize → French → casual tone". */
export function describeChain(chain: TaskChain): string {
    return chainTasks(chain).map(describeTask).join(" → ");
}
