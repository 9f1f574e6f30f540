// llama.cpp says why it refuses a file only in its log ("tensor 'x' has offset 64, expected 0");
// node-llama-cpp's error says just `Failed to initialize LoRA adapter "<path>"`. The engine keeps
// the last warnings and errors here and puts llama.cpp's reason into the error the user sees.

import {setTimeout as delay} from "node:timers/promises";
import {messageForUser} from "../messages/quote";

interface LogLine {
    readonly at: number;
    readonly level: string;
    readonly message: string;
}

const CAPACITY = 64;
const LINE_MAX_CHARS = 300;
const LORA_FAILURE = /^Failed to initialize LoRA adapter "(.*)"$/s;

export class LlamaLogTail {
    private readonly lines: LogLine[] = [];

    record(level: string, message: string): void {
        if (level !== "error" && level !== "warn") return;
        this.lines.push({at: Date.now(), level, message});
        if (this.lines.length > CAPACITY) this.lines.shift();
    }

    /** Error lines logged at or after `since` (ms since the epoch), oldest first. */
    errorsSince(since: number): string[] {
        return this.lines.filter((line) => line.level === "error" && line.at >= since).map((line) => line.message);
    }
}

/** llama.cpp refused a LoRA file the engine had validated; `reasons` are its own log lines. */
export class AdapterRefusedError extends Error {
    override name = "AdapterRefusedError";
    readonly code = "adapter-refused";
    constructor(
        readonly filePath: string,
        readonly reasons: readonly string[],
    ) {
        super(
            `llama.cpp refused the LoRA file ${filePath}: ` +
                (reasons.length > 0 ? reasons.join("; ") : "it logged no reason") +
                '. The file passed the engine\'s checks when it was listed; it may have changed on disk since ("composer adapters verify" checks it again).',
        );
    }
}

/**
 * `error` itself, or an AdapterRefusedError carrying what llama.cpp logged since `since` when
 * `error` is node-llama-cpp's bare "Failed to initialize LoRA adapter".
 */
export async function explainLoraFailure(error: unknown, tail: LlamaLogTail, since: number): Promise<unknown> {
    const match = error instanceof Error ? LORA_FAILURE.exec(error.message) : null;
    if (match === null) return error;
    // The log arrives through a thread-safe callback that can land just after the rejection.
    await delay(50);
    const reasons = [
        ...new Set(
            tail
                .errorsSince(since)
                .map((line) => messageForUser(line.trim(), LINE_MAX_CHARS))
                .filter((line) => line.length > 0),
        ),
    ];
    return new AdapterRefusedError(match[1] ?? "", reasons);
}
