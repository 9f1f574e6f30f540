// Content hashes of files, streamed so a 250 MB model never sits in memory at once.

import {createHash} from "node:crypto";
import {createReadStream} from "node:fs";

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
