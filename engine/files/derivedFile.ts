// Files the engine derives from installed ones (expanded calibrations, fused LoRAs), cached on
// disk under a content-addressed name: the name is a hash of everything that goes in, so a
// changed input never reuses a stale file (llama.cpp also caches adapters by path). A sidecar
// records the file's size and sha256 when it is written; a file is reused only if both still
// match, and rebuilt otherwise (a truncated write, a damaged disk, a stray edit). Writes go to a
// temporary name and are renamed into place, so a reader never sees half a file; two processes
// building the same file write the same bytes.

import {mkdir, readFile, rename, rm, stat, writeFile} from "node:fs/promises";
import {dirname} from "node:path";
import {sha256File} from "./sha256.js";

interface Record {
    readonly size: number;
    readonly sha256: string;
}

export interface DerivedFile {
    readonly filePath: string;
    /** False when a verified file from an earlier build was reused. */
    readonly built: boolean;
}

function recordPath(filePath: string): string {
    return `${filePath}.sha256.json`;
}

async function readRecord(filePath: string): Promise<Record | null> {
    try {
        const parsed = JSON.parse(await readFile(recordPath(filePath), "utf8")) as Partial<Record>;
        return typeof parsed.size === "number" && typeof parsed.sha256 === "string"
            ? {size: parsed.size, sha256: parsed.sha256}
            : null;
    } catch {
        return null;
    }
}

/** Whether `filePath` is there with the size and sha256 recorded when it was written. */
export async function isIntactDerivedFile(filePath: string): Promise<boolean> {
    const record = await readRecord(filePath);
    if (record === null) return false;
    try {
        if ((await stat(filePath)).size !== record.size) return false;
    } catch {
        return false;
    }
    return (await sha256File(filePath)) === record.sha256;
}

/**
 * Returns `filePath`, reusing it if it is intact, else calling `build(temporaryPath)` to write
 * it and recording its size and sha256.
 */
export async function derivedFile(
    filePath: string,
    build: (temporaryPath: string) => Promise<void>,
): Promise<DerivedFile> {
    if (await isIntactDerivedFile(filePath)) return {filePath, built: false};
    await mkdir(dirname(filePath), {recursive: true});
    const suffix = `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const temporary = `${filePath}${suffix}`;
    const temporaryRecord = `${recordPath(filePath)}${suffix}`;
    try {
        await build(temporary);
        const record: Record = {size: (await stat(temporary)).size, sha256: await sha256File(temporary)};
        await writeFile(temporaryRecord, `${JSON.stringify(record)}\n`);
        // File first, then its record: a crash in between leaves a record that does not match
        // (or none), so the next use rebuilds instead of trusting it.
        await rename(temporary, filePath);
        await rename(temporaryRecord, recordPath(filePath));
    } finally {
        await rm(temporary, {force: true});
        await rm(temporaryRecord, {force: true});
    }
    return {filePath, built: true};
}
