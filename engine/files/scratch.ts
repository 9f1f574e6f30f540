// Scratch folders named after the process that made them, so a later process can tell an
// interrupted operation (its owner is gone: recover or clean up) from one still running.

import {randomBytes} from "node:crypto";

/** Scratch names this process has handed out and not yet released. */
const inFlight = new Set<string>();

/** `<prefix><pid>-<random>`, registered as in flight until `release`. */
export function scratchName(prefix: string): string {
    const name = `${prefix}${process.pid}-${randomBytes(4).toString("hex")}`;
    inFlight.add(name);
    return name;
}

export function releaseScratchName(name: string): void {
    inFlight.delete(name);
}

/** True when the process is running (or exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Whether a scratch entry named `name` with owner `pid` is abandoned: its owner has exited, or
 * it names this process (a previous process with the same pid) but this process never made it.
 */
export function isAbandoned(name: string, pid: number): boolean {
    if (pid === process.pid) return !inFlight.has(name);
    return !isProcessAlive(pid);
}
