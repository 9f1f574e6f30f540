// Files the engine derives from installed ones (expanded calibrations, fused LoRAs), cached on
// disk under a content-addressed name: the name is a hash of everything that goes in, so a
// changed input never reuses a stale file (llama.cpp also caches adapters by path). A record
// (`<file>.json`: size and sha256) is written after the file; a file is reused only if it still
// matches its record, and rebuilt otherwise (truncated, damaged, half-copied, no record). Writes
// go to a temporary name and are renamed into place, so a reader never sees half a file; two
// processes building the same file write the same bytes.

import {randomBytes} from "node:crypto";
import {mkdir, readFile, rename, rm, stat, writeFile} from "node:fs/promises";
import {basename, dirname, join} from "node:path";
import {sha256File} from "./sha256";

/** What a derived file's record holds: enough to tell a damaged file from the one written. */
interface DerivedFileRecord {
    readonly bytes: number;
    readonly sha256: string;
}

export interface DerivedFile {
    readonly filePath: string;
    /** False when an intact file from an earlier build was reused. */
    readonly built: boolean;
}

function recordPath(filePath: string): string {
    return `${filePath}.json`;
}

function temporaryPath(filePath: string): string {
    return join(dirname(filePath), `.${basename(filePath)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** True when `filePath` exists with exactly the size and sha256 its record says. */
export async function isIntactDerivedFile(filePath: string): Promise<boolean> {
    let record: Partial<DerivedFileRecord>;
    try {
        record = JSON.parse(await readFile(recordPath(filePath), "utf8")) as Partial<DerivedFileRecord>;
    } catch {
        return false;
    }
    const size = await stat(filePath).then(
        (info) => (info.isFile() ? info.size : -1),
        () => -1,
    );
    if (size < 0 || size !== record.bytes) return false;
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
    const temporary = temporaryPath(filePath);
    const temporaryRecord = temporaryPath(recordPath(filePath));
    try {
        await build(temporary);
        const record: DerivedFileRecord = {bytes: (await stat(temporary)).size, sha256: await sha256File(temporary)};
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

/** Size and modification time of a file, to notice cheaply that it changed after it was verified. */
export interface FileStamp {
    readonly path: string;
    readonly bytes: number;
    readonly mtimeMs: number;
}

export async function fileStamp(path: string): Promise<FileStamp | null> {
    const info = await stat(path).catch(() => undefined);
    return info === undefined ? null : {path, bytes: info.size, mtimeMs: info.mtimeMs};
}

export async function isUnchanged(stamp: FileStamp): Promise<boolean> {
    const now = await fileStamp(stamp.path);
    return now !== null && now.bytes === stamp.bytes && now.mtimeMs === stamp.mtimeMs;
}
