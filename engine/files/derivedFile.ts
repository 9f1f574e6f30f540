// Files the engine derives from installed ones (expanded calibrations, fused LoRAs, faster base
// models), cached on disk under a content-addressed name: the name is a hash of everything that
// goes in, so a changed input never reuses a stale file (llama.cpp also caches adapters by path).
// A record (`<file>.json`: size, sha256, modification time) is written after the file; a file is
// reused only if it still matches its record, and rebuilt otherwise (truncated, damaged,
// half-copied, no record). Writes go to a temporary name and are renamed into place, so a reader
// never sees half a file; two processes building the same file write the same bytes. Each reuse
// sets the record's modification time (its content stays): the file's last use, which
// pruneDerivedFiles reads to forget files nothing installed needs any more.

import {randomBytes} from "node:crypto";
import {mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile} from "node:fs/promises";
import {basename, dirname, join} from "node:path";
import {sha256File} from "./sha256";

/** What a derived file's record holds: enough to tell a damaged file from the one written. */
interface DerivedFileRecord {
    readonly bytes: number;
    readonly sha256: string;
    /** When the file was written; records from before it was kept have none. */
    readonly mtimeMs?: number;
}

export interface DerivedFile {
    readonly filePath: string;
    /** False when an intact file from an earlier build was reused. */
    readonly built: boolean;
}

export interface DerivedFileOptions {
    /**
     * The sha256 the file must have (a deterministic derivation pinned in a catalog): a file with
     * another is not reused, and a build that gives another is refused, never put in place.
     */
    readonly expectedSha256?: string;
    /**
     * Reuse a file whose size and modification time still match its record without hashing it
     * again: for a large file checked at every start. Any rewrite, truncation or copy over it
     * changes one of them; damage that changes neither goes unnoticed until a full check.
     */
    readonly trustUnchanged?: boolean;
}

export class DerivedFileMismatchError extends Error {
    override name = "DerivedFileMismatchError";
}

function recordPath(filePath: string): string {
    return `${filePath}.json`;
}

function temporaryPath(filePath: string): string {
    return join(dirname(filePath), `.${basename(filePath)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** True when `filePath` exists with exactly the size and sha256 its record says (and the expected sha256, if given). */
export async function isIntactDerivedFile(filePath: string, options: DerivedFileOptions = {}): Promise<boolean> {
    let record: Partial<DerivedFileRecord>;
    try {
        record = JSON.parse(await readFile(recordPath(filePath), "utf8")) as Partial<DerivedFileRecord>;
    } catch {
        return false;
    }
    const info = await stat(filePath).catch(() => undefined);
    if (info === undefined || !info.isFile() || info.size !== record.bytes) return false;
    if (options.expectedSha256 !== undefined && record.sha256 !== options.expectedSha256) return false;
    if (options.trustUnchanged && record.mtimeMs !== undefined && record.mtimeMs === info.mtimeMs) return true;
    return (await sha256File(filePath)) === record.sha256;
}

/**
 * Returns `filePath`, reusing it if it is intact, else calling `build(temporaryPath)` to write
 * it and recording its size, sha256 and modification time.
 */
export async function derivedFile(
    filePath: string,
    build: (temporaryPath: string) => Promise<void>,
    options: DerivedFileOptions = {},
): Promise<DerivedFile> {
    if (await isIntactDerivedFile(filePath, options)) {
        const now = new Date();
        await utimes(recordPath(filePath), now, now).catch(() => undefined); // last use; best effort
        return {filePath, built: false};
    }
    await mkdir(dirname(filePath), {recursive: true});
    const temporary = temporaryPath(filePath);
    const temporaryRecord = temporaryPath(recordPath(filePath));
    try {
        await build(temporary);
        const sha256 = await sha256File(temporary);
        if (options.expectedSha256 !== undefined && sha256 !== options.expectedSha256)
            throw new DerivedFileMismatchError(
                `${basename(filePath)} was built with sha256 ${sha256}, expected ${options.expectedSha256}; it was not kept.`,
            );
        const info = await stat(temporary);
        // A rename keeps the modification time, so the record matches the file in place.
        const record: DerivedFileRecord = {bytes: info.size, sha256, mtimeMs: info.mtimeMs};
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

export interface DerivedFilesToPrune {
    /** Which file names in the folder are derived files this caller owns (others are never touched). */
    readonly owns: (fileName: string) => boolean;
    /** Names still needed: kept whatever their age. */
    readonly keep: ReadonlySet<string>;
    /** A file used (built or reused) more recently than this stays: another process may need it now. */
    readonly unusedForMs: number;
}

/**
 * Deletes the derived files in `dir` that `owns` matches, `keep` lacks and nothing built or
 * reused for `unusedForMs` (the record's modification time), with their records; returns the
 * names deleted. A process that still needed one rebuilds it (the same bytes) on its next use.
 */
export async function pruneDerivedFiles(dir: string, options: DerivedFilesToPrune): Promise<string[]> {
    const deleted: string[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!options.owns(name) || options.keep.has(name)) continue;
        const filePath = join(dir, name);
        const lastUse = await stat(recordPath(filePath)).then(
            (info) => info.mtimeMs,
            () =>
                stat(filePath).then(
                    (info) => info.mtimeMs,
                    () => Date.now(),
                ),
        );
        if (Date.now() - lastUse < options.unusedForMs) continue;
        // The record first: a file without one is never reused, so a crash in between is harmless.
        await rm(recordPath(filePath), {force: true});
        await rm(filePath, {force: true});
        deleted.push(name);
    }
    return deleted;
}
