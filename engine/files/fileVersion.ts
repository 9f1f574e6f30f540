// Which version of a file a check saw, so that what is computed from its bytes (a content hash,
// a validation, a parsed calibration) is computed once per version: reused while the file is
// that version, computed again once it changes. The engine process outlives many requests, and
// adapters and calibrations can change under it (`composer adapters install --replace` in
// another process, a user editing a pack folder), so a path alone does not name the bytes.
//
// A version is the device, inode, size and modification time in nanoseconds. A replacement by
// rename (installs, most editors, `cp` over a link-free target) gives a new inode; any write
// gives a new modification time. Not seen: an in-place rewrite that keeps both size and time
// (a deliberate `touch -d`, or two writes within one timestamp tick on a file system with
// coarse timestamps). `adapters verify`, `calibrations verify` and a new engine process read
// everything again.

import {stat} from "node:fs/promises";

export interface FileVersion {
    readonly dev: bigint;
    readonly ino: bigint;
    readonly size: bigint;
    readonly mtimeNs: bigint;
}

/** The version of the regular file at `path`, or null when there is none (missing, unreadable, a folder). */
export async function fileVersion(path: string): Promise<FileVersion | null> {
    const info = await stat(path, {bigint: true}).catch(() => undefined);
    if (info === undefined || !info.isFile()) return null;
    return {dev: info.dev, ino: info.ino, size: info.size, mtimeNs: info.mtimeNs};
}

export function sameVersion(a: FileVersion | null, b: FileVersion | null): boolean {
    return (
        a !== null && b !== null && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs
    );
}
