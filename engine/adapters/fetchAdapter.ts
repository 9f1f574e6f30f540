// Fetches a task adapter from the web into a scratch folder, for AdapterStore.install to
// validate and install. Trust comes from the user, not the server: only https, and the sha256
// of manifest.json is required up front; the manifest in turn pins adapter.gguf by its sha256,
// which the store checks. The adapter file is fetched from next to the manifest, never from
// anywhere the manifest names.

import {createWriteStream} from "node:fs";
import {mkdir, readdir, rm, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {Readable} from "node:stream";
import {pipeline} from "node:stream/promises";
import {isAbandoned, releaseScratchName, scratchName} from "../files/scratch";
import {isSha256Hex, sha256Text} from "../files/sha256";
import {AdapterStoreError} from "./errors";
import {ADAPTER_MANIFEST_FILE} from "./manifest";

export const MAX_MANIFEST_BYTES = 1 << 20;
export const MAX_ADAPTER_BYTES = 1 << 30;

export interface FetchAdapterOptions {
    /** A scratch folder is made under it and removed by `cleanup`. */
    readonly scratchRoot: string;
    readonly signal?: AbortSignal;
    /** For tests; the global fetch otherwise. */
    readonly fetch?: typeof fetch;
}

export interface FetchedAdapter {
    readonly dir: string;
    readonly cleanup: () => Promise<void>;
}

function refuse(message: string): never {
    throw new AdapterStoreError("bad-source", message);
}

/** Checks the URL and hash before any request is made. */
export function checkAdapterSource(url: string, manifestSha256: string): URL {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        refuse(`${url}: not a URL`);
    }
    if (parsed.protocol !== "https:") refuse(`${url}: only https URLs are accepted`);
    if (!isSha256Hex(manifestSha256)) refuse(`the sha256 of ${ADAPTER_MANIFEST_FILE} must be 64 lower-case hex digits`);
    return parsed;
}

/**
 * The whole body, refused as soon as it passes `limit` bytes: a declared length is checked
 * before reading, and the stream is cancelled at the limit, so a 600 MB "manifest" costs at most
 * `limit` bytes of memory.
 */
async function readLimited(response: Response, limit: number, url: URL, what: string): Promise<Uint8Array> {
    const tooLarge = () => refuse(`${url}: ${what} is larger than ${limit} bytes`);
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > limit) tooLarge();
    if (response.body === null) return new Uint8Array(0);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let received = 0;
    for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        received += value.length;
        if (received > limit) {
            await reader.cancel().catch(() => undefined);
            tooLarge();
        }
        chunks.push(value);
    }
    return Buffer.concat(chunks, received);
}

/** Removes download folders whose process has exited (an interrupted download leaves one). */
async function removeAbandonedDownloads(root: string): Promise<void> {
    for (const name of await readdir(root).catch(() => [] as string[])) {
        const pid = /^(\d+)-[0-9a-f]{8}$/.exec(name)?.[1];
        // 12 hex digits: a folder of an earlier version, which recorded no owner and never cleaned up.
        const legacy = /^[0-9a-f]{12}$/.test(name);
        if (legacy || (pid !== undefined && isAbandoned(name, Number(pid))))
            await rm(join(root, name), {recursive: true, force: true}).catch(() => undefined);
    }
}

/** GETs `url`; network errors keep their cause ("fetch failed" alone tells the user nothing). */
async function request(get: typeof fetch, url: URL, signal: AbortSignal | undefined): Promise<Response> {
    try {
        return await get(url, {signal, redirect: "error"});
    } catch (error) {
        if (signal?.aborted) throw error;
        const cause = (error as {cause?: {message?: unknown}}).cause?.message;
        refuse(`${url}: ${(error as Error).message}${typeof cause === "string" ? ` (${cause})` : ""}`);
    }
}

export async function fetchAdapter(
    url: string,
    manifestSha256: string,
    options: FetchAdapterOptions,
): Promise<FetchedAdapter> {
    const manifestUrl = checkAdapterSource(url, manifestSha256);
    const get = options.fetch ?? fetch;
    const downloads = join(options.scratchRoot, ".adapter-downloads");
    await removeAbandonedDownloads(downloads);
    const name = scratchName("");
    const dir = join(downloads, name);
    const cleanup = async () => {
        await rm(dir, {recursive: true, force: true});
        releaseScratchName(name);
    };
    await mkdir(dir, {recursive: true});
    try {
        const response = await request(get, manifestUrl, options.signal);
        if (!response.ok) refuse(`${manifestUrl}: HTTP ${response.status}`);
        const bytes = await readLimited(response, MAX_MANIFEST_BYTES, manifestUrl, "the manifest");
        const actual = sha256Text(bytes);
        if (actual !== manifestSha256)
            refuse(`${manifestUrl}: sha256 is ${actual}, expected ${manifestSha256}; nothing was installed`);
        let manifest: {file?: unknown};
        try {
            const text = Buffer.from(bytes).toString("utf8");
            // A UTF-8 byte order mark is not part of the JSON (the store's reader skips it too).
            manifest = JSON.parse(text.startsWith("\ufeff") ? text.slice(1) : text);
        } catch (error) {
            refuse(`${manifestUrl}: not JSON (${(error as Error).message})`);
        }
        if (typeof manifest !== "object" || manifest === null)
            refuse(`${manifestUrl}: the manifest is not a JSON object`);
        const file = manifest.file;
        if (typeof file !== "string" || !/^[A-Za-z0-9._-]+$/.test(file) || file.startsWith("."))
            refuse(`${manifestUrl}: "file" must be a plain file name next to the manifest`);
        await writeFile(join(dir, ADAPTER_MANIFEST_FILE), bytes);

        const fileUrl = new URL(file, manifestUrl);
        const fileResponse = await request(get, fileUrl, options.signal);
        if (!fileResponse.ok || fileResponse.body === null) refuse(`${fileUrl}: HTTP ${fileResponse.status}`);
        const declared = Number(fileResponse.headers.get("content-length") ?? "0");
        if (declared > MAX_ADAPTER_BYTES) refuse(`${fileUrl}: larger than ${MAX_ADAPTER_BYTES} bytes`);
        let received = 0;
        const limited = Readable.fromWeb(fileResponse.body as import("node:stream/web").ReadableStream).filter(
            (chunk: Buffer) => {
                received += chunk.length;
                if (received > MAX_ADAPTER_BYTES) refuse(`${fileUrl}: larger than ${MAX_ADAPTER_BYTES} bytes`);
                return true;
            },
        );
        await pipeline(limited, createWriteStream(join(dir, file)), {signal: options.signal});
        return {dir, cleanup};
    } catch (error) {
        await cleanup();
        throw error;
    }
}
