// What counts as a good refusal in the fault suite: an error the engine names (a stable code),
// with a message that says what is wrong, quotes nothing unescaped and stays readable in size.
// Anything else (a TypeError, a bare "Failed to initialize LoRA adapter", a hang) is a failure.

import {AdapterStoreError, AdapterValidationError} from "../../../engine/adapters/errors";
import {CalibrationExpansionError} from "../../../engine/calibrations/expand";
import {CalibrationFormatError} from "../../../engine/calibrations/format";
import {EngineCrashedError, EngineError} from "../../../engine/isolation/engineClient";
import {firstUnsafeCharacter} from "../../../engine/messages/quote";

/** Longer than any specific message needs (a path, a few quoted values); far below the 3.7 MB seen before. */
export const MESSAGE_LIMIT = 4000;

export class HangError extends Error {
    override name = "HangError";
}

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HangError(`${what} did not finish within ${ms} ms`)), ms);
    });
    try {
        return await Promise.race([work, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** Why `message` is not a message a user can act on, or null. */
export function messageProblem(message: string): string | null {
    if (message.length > MESSAGE_LIMIT) return `the message is ${message.length} characters long`;
    if (message.trim().length < 20) return `the message says too little: ${JSON.stringify(message)}`;
    const unsafe = firstUnsafeCharacter(message.replaceAll("\n", " "));
    if (unsafe !== null) return `the message holds a raw ${unsafe.kind} character ${unsafe.codePoint}`;
    if (/^Failed to initialize LoRA adapter "[^"]*"$/.test(message)) return "llama.cpp's bare refusal, with no reason";
    if (/\bundefined\b|\[object Object\]|Cannot read propert/.test(message))
        return "the message shows an internal slip";
    return null;
}

export type Verdict = {readonly refused: string; readonly message: string} | {readonly problem: string};

/** A refusal the engine names with a stable code and a usable message, or the problem with `error`. */
export function judgeRefusal(error: unknown): Verdict {
    if (error instanceof HangError) return {problem: `hang: ${error.message}`};
    const named =
        error instanceof AdapterValidationError ||
        error instanceof AdapterStoreError ||
        error instanceof CalibrationFormatError ||
        error instanceof CalibrationExpansionError ||
        (error instanceof EngineError && error.code !== undefined);
    if (!named) {
        const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        const kind = error instanceof EngineCrashedError ? "the engine crashed" : "not a named refusal";
        return {problem: `${kind} (${what.slice(0, 400)})`};
    }
    const message = (error as Error).message;
    const problem = messageProblem(message);
    if (problem !== null) return {problem: `${problem}: ${message.slice(0, 300)}`};
    return {refused: (error as {code: string}).code, message};
}
