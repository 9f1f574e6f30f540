// Watching processes from tests: whether one still runs, its children and its memory (Linux /proc).

import {readFileSync} from "node:fs";
import {setTimeout as delay} from "node:timers/promises";

export function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Whether `pid` has exited (or become a zombie nobody reaps) within `withinMs`. */
export async function gone(pid: number, withinMs = 2000): Promise<boolean> {
    const until = Date.now() + withinMs;
    for (;;) {
        if (!isAlive(pid) || processState(pid) === "Z") return true;
        if (Date.now() >= until) return false;
        await delay(20);
    }
}

function processState(pid: number): string | null {
    try {
        return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? null;
    } catch {
        return null;
    }
}

/** Direct children of `pid` (Linux). */
export function childPids(pid: number): number[] {
    try {
        const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
        return text === "" ? [] : text.split(/\s+/).map(Number);
    } catch {
        return [];
    }
}

/** Resident memory of `pid` in MB (Linux). */
export function rssMb(pid: number): number {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (match === null) throw new Error(`No VmRSS for process ${pid}.`);
    return Number(match[1]) / 1024;
}

/** Runs `promise`, returning what it settled with and after how long. */
export async function timed<T>(promise: Promise<T>): Promise<{value: T | null; error: Error | null; ms: number}> {
    const started = Date.now();
    try {
        const value = await promise;
        return {value, error: null, ms: Date.now() - started};
    } catch (error) {
        return {value: null, error: error as Error, ms: Date.now() - started};
    }
}
