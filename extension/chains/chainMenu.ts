// What the command palette and quick picks offer, derived from the engine's capabilities. Pure:
// no VS Code here, so it is unit tested. The palette cannot gain entries at run time (only
// package.json `contributes` adds them), so every main x auxiliary pair the engine knows has a
// contributed command that is shown only while it runs as trained, not as a fallback (a context
// key per pair); any other such chain (three tasks, a future task) is reached through
// "Run Composite Task...", which lists whatever is installed.

import type {ChainCapability} from "../../engine/compose/recipe";
import {
    AUX_TASKS,
    type AuxTaskId,
    chainKey,
    chainTasks,
    isComposite,
    LANGUAGE_NAMES,
    type Language,
    MAIN_TASKS,
    type MainTaskId,
    parseTaskChain,
    type TaskChain,
    type TaskId,
    taskChain,
} from "../../engine/compose/taskChain";
import {savedActionNameProblem} from "../builder/messages";

/** "Summarize", "Reply" as a verb at the start of a command title. */
function mainVerb(task: MainTaskId): string {
    return task === "summarize" ? "Summarize" : "Reply";
}

function auxPhrase(task: AuxTaskId): string {
    const [kind, value = ""] = task.split(":");
    if (kind === "translate") return `to ${LANGUAGE_NAMES[value as Language]}`;
    if (value === "paraphrase") return "as a Paraphrase";
    return `in a ${value.charAt(0).toUpperCase()}${value.slice(1)} Tone`;
}

/** "Summarize to French", "Reply in a Casual Tone", "Translate to French in a Witty Tone". */
export function chainTitle(chain: TaskChain): string {
    const tasks = chainTasks(chain);
    const head = chain.main === null ? null : mainVerb(chain.main);
    // Tones run before the translation (taskChain's order), but the title names the language first.
    const aux = [...chain.aux].sort((a, b) => Number(b.startsWith("translate:")) - Number(a.startsWith("translate:")));
    const phrases = aux.map(auxPhrase);
    if (head !== null) return [head, ...phrases].join(" ");
    const [first, ...rest] = aux;
    if (first === undefined) return tasks.join(" ");
    const lead = first.startsWith("translate:")
        ? `Translate ${auxPhrase(first)}`
        : first === "tone:paraphrase"
          ? "Paraphrase"
          : `Rewrite ${auxPhrase(first)}`;
    return [lead, ...rest.map(auxPhrase)].join(" ");
}

/** Command ids may not hold "+" or ":" comfortably in when-clauses; use dots and dashes. */
function idPart(task: TaskId): string {
    return task.replace(":", "-");
}

export function compositeCommandId(chain: TaskChain): string {
    return `composer.composite.${chainTasks(chain).map(idPart).join(".")}`;
}

export function offeredContextKey(chain: TaskChain): string {
    return `composer.offered.${chainTasks(chain).map(idPart).join(".")}`;
}

/** Every main x auxiliary pair: the composites that have a contributed palette command. */
export function contributedComposites(): TaskChain[] {
    return MAIN_TASKS.flatMap((main) => AUX_TASKS.map((aux) => taskChain([main, aux])));
}

export interface CompositeItem {
    readonly chain: TaskChain;
    readonly key: string;
    readonly label: string;
    readonly detail: string;
    /** How "auto" runs it (method, passes). */
    readonly capability: ChainCapability;
}

/**
 * Composite chains that run as trained with what is installed: in one pass (a calibration or a
 * joint expert), or in the passes "auto" chooses because they write better (a reply, then its
 * translation or tone). Not fallbacks: a multi-step for want of a calibration, or zero-shot.
 */
export function offeredComposites(capabilities: readonly ChainCapability[]): CompositeItem[] {
    const items: CompositeItem[] = [];
    for (const capability of capabilities) {
        let chain: TaskChain;
        try {
            chain = parseTaskChain(capability.chain);
        } catch {
            continue; // a chain this build does not know; the engine is newer than the extension
        }
        // The capability's note says why a fallback runs; a chosen method has none.
        if (!isComposite(chain) || capability.note !== null) continue;
        items.push({
            chain,
            key: chainKey(chain),
            label: chainTitle(chain),
            detail: capability.title,
            capability,
        });
    }
    return items.sort((a, b) => a.label.localeCompare(b.label));
}

/** Context keys to set: true for each contributed pair that is offered, false for the rest. */
export function offeredContextValues(capabilities: readonly ChainCapability[]): Map<string, boolean> {
    const offered = new Set(offeredComposites(capabilities).map((item) => item.key));
    return new Map(contributedComposites().map((chain) => [offeredContextKey(chain), offered.has(chainKey(chain))]));
}

/** The tasks that may still be appended to a chain being built (Compose... and the builder). */
export function nextTaskOptions(tasks: readonly TaskId[]): TaskId[] {
    return [...MAIN_TASKS, ...AUX_TASKS].filter((task) => {
        try {
            taskChain([...tasks, task]);
            return true;
        } catch {
            return false;
        }
    });
}

export interface SavedAction {
    readonly name: string;
    readonly chain: string;
    readonly method: string;
}

/**
 * Reads the `composer.savedActions` setting, keeping valid entries and saying why others were
 * dropped (a setting is user-edited JSON).
 */
export function parseSavedActions(value: unknown): {actions: SavedAction[]; problems: string[]} {
    const actions: SavedAction[] = [];
    const problems: string[] = [];
    if (!Array.isArray(value)) return {actions, problems: value === undefined ? [] : ["not a list"]};
    value.forEach((entry, index) => {
        if (typeof entry !== "object" || entry === null) {
            problems.push(`entry ${index + 1} is not an object`);
            return;
        }
        const {name, chain, method} = entry as Record<string, unknown>;
        if (typeof name !== "string" || name.trim() === "") {
            problems.push(`entry ${index + 1} has no name`);
            return;
        }
        const nameProblem = savedActionNameProblem(name.trim());
        if (nameProblem !== null) {
            problems.push(`entry ${index + 1}: ${nameProblem}`);
            return;
        }
        if (typeof chain !== "string") {
            problems.push(`"${name}" has no chain`);
            return;
        }
        try {
            parseTaskChain(chain);
        } catch (error) {
            problems.push(`"${name}": ${(error as Error).message}`);
            return;
        }
        actions.push({name: name.trim(), chain, method: typeof method === "string" ? method : "auto"});
    });
    return {actions, problems};
}
