// Content hashes of files, streamed so a 250 MB model never sits in memory at once.

import {createHash} from "node:crypto";
import {createReadStream} from "node:fs";
import {type FileVersion, fileVersion, sameVersion} from "./fileVersion";

export async function sha256File(filePath: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(filePath, {highWaterMark: 1 << 20})) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

export function sha256Text(text: string | Uint8Array): string {
    return createHash("sha256").update(text).digest("hex");
}

export function isSha256Hex(text: string): boolean {
    return /^[0-9a-f]{64}$/.test(text);
}

/** A file's sha256 and the version of the file it was computed from (fileVersion.ts). */
export interface HashedFile {
    readonly filePath: string;
    readonly sha256: string;
    readonly version: FileVersion;
}

/** How a file is hashed; stores take one so tests can count what is hashed. */
export type FileHasher = (filePath: string) => Promise<HashedFile>;

export class FileKeptChangingError extends Error {
    override name = "FileKeptChangingError";
}

/**
 * Hashes a file and says which version the hash describes: the version is taken before and
 * after, and a file written to meanwhile is hashed again (three tries).
 */
export async function hashFile(filePath: string): Promise<HashedFile> {
    for (let attempt = 0; attempt < 3; attempt++) {
        const before = await fileVersion(filePath);
        const sha256 = await sha256File(filePath);
        if (before !== null && sameVersion(before, await fileVersion(filePath)))
            return {filePath, sha256, version: before};
    }
    throw new FileKeptChangingError(`${filePath} kept changing while it was being hashed.`);
}

/**
 * The version of `file.filePath` now, if it still holds the bytes that were hashed: the same
 * version, or hashed again (a touched or copied-back file) with the same sha256; else null.
 */
export async function versionHoldingHash(file: HashedFile): Promise<FileVersion | null> {
    const now = await fileVersion(file.filePath);
    if (now === null) return null;
    if (sameVersion(now, file.version)) return now;
    const again = await hashFile(file.filePath).catch(() => null);
    return again?.sha256 === file.sha256 ? again.version : null;
}
