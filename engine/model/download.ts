// Downloads a model from an hf: or https URI with node-llama-cpp's downloader: progress,
// resume of a partial file, and cancellation; optionally checked against a known sha256.

import {rm} from "node:fs/promises";
import {sha256File} from "../files/sha256";

export interface DownloadOptions {
    readonly modelsDir: string;
    readonly expectedSha256?: string;
    readonly signal?: AbortSignal;
    readonly onProgress?: (progress: {downloadedBytes: number; totalBytes: number}) => void;
}

export class ModelDownloadError extends Error {
    override name = "ModelDownloadError";
}

export class ModelDownloadCancelledError extends Error {
    override name = "ModelDownloadCancelledError";
}

export async function downloadModel(uri: string, options: DownloadOptions): Promise<string> {
    let reported = 0;
    // Loaded on use: the pinned default model is fetched without it, and node-llama-cpp brings
    // native parts that only a URI download needs.
    const {createModelDownloader} = await import("node-llama-cpp");
    const downloader = await createModelDownloader({
        modelUri: uri,
        dirPath: options.modelsDir,
        showCliProgress: false,
        skipExisting: true,
        deleteTempFileOnCancel: false,
        // With parallel connections the downloader's count can step back when a chunk is
        // retried; a progress bar should never move backwards.
        onProgress: ({totalSize, downloadedSize}) => {
            reported = Math.max(reported, downloadedSize);
            options.onProgress?.({downloadedBytes: reported, totalBytes: totalSize});
        },
    });
    // node-llama-cpp's own signal handling starts closing the files and does not wait for it, so a
    // cancelled download could reject before its partial file was on disk (a resume then started
    // from zero): the cancel is ours, and awaited.
    let closing: Promise<void> | null = null;
    const onAbort = () => {
        closing = downloader.cancel({deleteTempFile: false});
    };
    const {signal} = options;
    if (signal?.aborted) throw new ModelDownloadCancelledError(`The download of ${uri} was cancelled.`);
    signal?.addEventListener("abort", onAbort, {once: true});
    let path: string;
    try {
        path = await downloader.download();
    } finally {
        signal?.removeEventListener("abort", onAbort);
        await closing;
    }
    // The downloader resolves normally when cancelled mid-way; a cancel must not look like success.
    if (signal?.aborted) throw new ModelDownloadCancelledError(`The download of ${uri} was cancelled.`);
    if (options.expectedSha256 !== undefined) {
        const actual = await sha256File(path);
        if (actual !== options.expectedSha256) {
            await rm(path, {force: true});
            throw new ModelDownloadError(
                `The file downloaded from ${uri} has sha256 ${actual}, expected ${options.expectedSha256}; it was deleted.`,
            );
        }
    }
    return path;
}
