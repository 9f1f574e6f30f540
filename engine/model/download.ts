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
    const path = await downloader.download({signal: options.signal});
    // The downloader resolves normally when cancelled mid-way; a cancel must not look like success.
    if (options.signal?.aborted) throw new ModelDownloadCancelledError(`The download of ${uri} was cancelled.`);
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
