// Messages between the task-chain builder webview and the extension. Both sides validate what
// they receive with these functions (the webview bundles this module too): a webview is a web
// page, so nothing it posts is trusted, and the page drops anything malformed from the host.

import {isMethod} from "../../engine/compose/methods";
import type {ChainCapability} from "../../engine/compose/recipe";
import {chainKey, isTaskId, parseTaskChain, type TaskId, taskChain} from "../../engine/compose/taskChain";
import {firstUnsafeCharacter} from "../../engine/messages/quote";

export const METHOD_CHOICES = [
    "auto",
    "lc++",
    "lc",
    "multi-step",
    "linear-merge",
    "joint-expert",
    "main-lora",
    "aux-lora",
    "zero-shot",
] as const;
export type MethodChoiceName = (typeof METHOD_CHOICES)[number];

export type ToHost =
    | {readonly type: "ready"}
    | {readonly type: "run"; readonly tasks: readonly TaskId[]; readonly method: MethodChoiceName}
    | {
          readonly type: "save";
          readonly name: string;
          readonly tasks: readonly TaskId[];
          readonly method: MethodChoiceName;
      }
    | {readonly type: "review"; readonly action: "accept" | "reject" | "retry" | "insertBelow" | "cancel"};

export type ToWebview =
    | {readonly type: "init"; readonly capabilities: readonly ChainCapability[]; readonly hasSelection: boolean}
    | {readonly type: "started"; readonly title: string}
    | {readonly type: "text"; readonly text: string}
    | {
          readonly type: "done";
          readonly text: string;
          readonly method: string;
          readonly note: string | null;
          /** What Accept does: replace the selection, or insert below it (a reply). */
          readonly placement: ReviewPlacement;
      }
    | {readonly type: "finished"; readonly outcome: string}
    | {readonly type: "error"; readonly message: string}
    | {readonly type: "saved"; readonly name: string};

export const REVIEW_PLACEMENTS = ["replace", "insertBelow"] as const;
export type ReviewPlacement = (typeof REVIEW_PLACEMENTS)[number];

export class MessageError extends Error {
    override name = "MessageError";
}

const MAX_TEXT = 1_000_000;
export const SAVED_ACTION_NAME_MAX = 80;

const UNSAFE_NAME_REASON = {
    control: "control characters (line breaks, tabs, NUL)",
    bidi: "bidirectional formatting characters, which make a name display as something else",
    "lone surrogate": "broken UTF-16 (a lone surrogate)",
} as const;

/**
 * Why `name` (already trimmed) cannot name a saved action, or null. Names appear in quick picks,
 * notifications and settings.json, where a line break or a right-to-left override would show
 * something other than what was saved.
 */
export function savedActionNameProblem(name: string): string | null {
    if (name === "") return "a saved action needs a name";
    if (name.length > SAVED_ACTION_NAME_MAX)
        return `a saved action name has at most ${SAVED_ACTION_NAME_MAX} characters (this one has ${name.length})`;
    const unsafe = firstUnsafeCharacter(name);
    if (unsafe !== null)
        return `a saved action name cannot contain ${UNSAFE_NAME_REASON[unsafe.kind]}; found ${unsafe.codePoint} at position ${unsafe.index + 1}`;
    return null;
}

function record(value: unknown): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new MessageError("a message must be an object");
    return value as Record<string, unknown>;
}

function string(message: Record<string, unknown>, key: string, max = MAX_TEXT): string {
    const value = message[key];
    if (typeof value !== "string" || value.length > max) throw new MessageError(`"${key}" must be a string`);
    return value;
}

function tasks(message: Record<string, unknown>): TaskId[] {
    const value = message.tasks;
    if (!Array.isArray(value) || value.length === 0 || value.length > 8)
        throw new MessageError(`"tasks" must be a non-empty list`);
    for (const task of value) {
        if (typeof task !== "string" || !isTaskId(task)) throw new MessageError(`unknown task ${JSON.stringify(task)}`);
    }
    // The chain's own rules (one main task first, no repeats, one language).
    try {
        taskChain(value as TaskId[]);
    } catch (error) {
        throw new MessageError((error as Error).message);
    }
    return value as TaskId[];
}

function method(message: Record<string, unknown>): MethodChoiceName {
    const value = message.method;
    if (typeof value !== "string" || !(METHOD_CHOICES as readonly string[]).includes(value))
        throw new MessageError(`unknown method ${JSON.stringify(value)}`);
    return value as MethodChoiceName;
}

const REVIEW_ACTIONS = ["accept", "reject", "retry", "insertBelow", "cancel"] as const;

export function parseToHost(raw: unknown): ToHost {
    const message = record(raw);
    switch (message.type) {
        case "ready":
            return {type: "ready"};
        case "run":
            return {type: "run", tasks: tasks(message), method: method(message)};
        case "save": {
            const name = string(message, "name", SAVED_ACTION_NAME_MAX).trim();
            const problem = savedActionNameProblem(name);
            if (problem !== null) throw new MessageError(problem);
            return {type: "save", name, tasks: tasks(message), method: method(message)};
        }
        case "review": {
            const action = message.action;
            if (typeof action !== "string" || !(REVIEW_ACTIONS as readonly string[]).includes(action))
                throw new MessageError(`unknown review action ${JSON.stringify(action)}`);
            return {type: "review", action: action as (typeof REVIEW_ACTIONS)[number]};
        }
        default:
            throw new MessageError(`unknown message type ${JSON.stringify(message.type)}`);
    }
}

/** The engine's ChainCapability as the page receives it: every field checked, nothing assumed. */
function capability(raw: unknown): ChainCapability {
    const value = record(raw);
    const chain = string(value, "chain", 200);
    let parsed: ReturnType<typeof parseTaskChain>;
    try {
        parsed = parseTaskChain(chain);
    } catch (error) {
        throw new MessageError((error as Error).message);
    }
    if (chainKey(parsed) !== chain) throw new MessageError(`"chain" must be a canonical chain key, got "${chain}"`);
    const method = string(value, "method", 40);
    if (!isMethod(method)) throw new MessageError(`unknown method ${JSON.stringify(method)}`);
    const methods = value.methods;
    if (!Array.isArray(methods) || !methods.every((m) => typeof m === "string" && isMethod(m)))
        throw new MessageError(`"methods" must be a list of methods`);
    const passes = value.passes;
    if (typeof passes !== "number" || !Number.isInteger(passes) || passes < 1)
        throw new MessageError(`"passes" must be a positive integer`);
    if (typeof value.onePass !== "boolean") throw new MessageError(`"onePass" must be a boolean`);
    const note = value.note;
    if (note !== null && typeof note !== "string") throw new MessageError(`"note" must be a string or null`);
    return {
        chain: chainKey(parsed),
        title: string(value, "title", 400),
        method,
        passes,
        onePass: value.onePass,
        note,
        methods,
    };
}

export function parseToWebview(raw: unknown): ToWebview {
    const message = record(raw);
    switch (message.type) {
        case "init": {
            const capabilities = message.capabilities;
            if (!Array.isArray(capabilities)) throw new MessageError(`"capabilities" must be a list`);
            if (typeof message.hasSelection !== "boolean") throw new MessageError(`"hasSelection" must be a boolean`);
            return {type: "init", capabilities: capabilities.map(capability), hasSelection: message.hasSelection};
        }
        case "started":
            return {type: "started", title: string(message, "title", 400)};
        case "text":
            return {type: "text", text: string(message, "text")};
        case "done": {
            const note = message.note;
            if (note !== null && typeof note !== "string") throw new MessageError(`"note" must be a string or null`);
            const placement = message.placement;
            if (typeof placement !== "string" || !(REVIEW_PLACEMENTS as readonly string[]).includes(placement))
                throw new MessageError(`unknown placement ${JSON.stringify(placement)}`);
            return {
                type: "done",
                text: string(message, "text"),
                method: string(message, "method", 40),
                note,
                placement: placement as ReviewPlacement,
            };
        }
        case "finished":
            return {type: "finished", outcome: string(message, "outcome", 400)};
        case "error":
            return {type: "error", message: string(message, "message", 4000)};
        case "saved":
            return {type: "saved", name: string(message, "name", 80)};
        default:
            throw new MessageError(`unknown message type ${JSON.stringify(message.type)}`);
    }
}
