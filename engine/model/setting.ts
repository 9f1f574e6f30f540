// The user's "base model" setting as a typed value, and where its file is when it is on disk.
// Nothing here reads a model or the network: fetching is model/fetch.ts, run by the engine process.

import {stat} from "node:fs/promises";
import {isAbsolute, join, resolve} from "node:path";
import {catalogFile, DEFAULT_MODEL} from "./catalog";

export type BaseModelSetting =
    | {readonly kind: "default"}
    /** A catalog id (catalog.ts): a pinned download, or a file derived from one. */
    | {readonly kind: "known"; readonly id: string}
    | {readonly kind: "file"; readonly path: string}
    | {readonly kind: "uri"; readonly uri: string; readonly sha256?: string};

export function parseBaseModelSetting(text: string | undefined, cwd = process.cwd()): BaseModelSetting {
    const value = text?.trim() ?? "";
    if (value === "" || value === "default") return {kind: "default"};
    if (catalogFile(value) !== undefined) return {kind: "known", id: value};
    if (/^(hf:|https?:\/\/)/.test(value)) return {kind: "uri", uri: value};
    return {kind: "file", path: isAbsolute(value) ? value : resolve(cwd, value)};
}

export class ModelNotAvailableError extends Error {
    override name = "ModelNotAvailableError";
}

async function isFile(path: string): Promise<boolean> {
    return stat(path).then(
        (s) => s.isFile(),
        () => false,
    );
}

/** The model file for `setting` if it is on disk; else ModelNotAvailableError saying how to fetch it. */
export async function locateBaseModel(setting: BaseModelSetting, modelsDir: string): Promise<string> {
    switch (setting.kind) {
        case "file":
            if (!(await isFile(setting.path))) throw new ModelNotAvailableError(`No model file at ${setting.path}.`);
            return setting.path;
        case "default": {
            const path = join(modelsDir, DEFAULT_MODEL.fileName);
            if (await isFile(path)) return path;
            throw new ModelNotAvailableError(
                `The default model (${DEFAULT_MODEL.title}) is not downloaded yet. Run "composer models fetch".`,
            );
        }
        case "known":
            return locateCatalogFile(setting.id, modelsDir);
        case "uri":
            // node-llama-cpp names the file it downloads: only a fetch knows where it is.
            throw new ModelNotAvailableError(
                `${setting.uri} must be downloaded first ("composer models fetch ${setting.uri}").`,
            );
    }
}

async function locateCatalogFile(id: string, modelsDir: string): Promise<string> {
    const entry = catalogFile(id);
    if (entry === undefined)
        throw new ModelNotAvailableError(`No known model "${id}" ("composer models list" shows the known ones).`);
    const {model, derived} = entry;
    const path = join(modelsDir, derived?.fileName ?? model.fileName);
    if (await isFile(path)) return path;
    if (derived === undefined)
        throw new ModelNotAvailableError(`${model.title} is not downloaded yet. Run "composer models fetch ${id}".`);
    // Made by the engine process from the verified download (model/fetch.ts), never here.
    throw new ModelNotAvailableError(
        `${derived.title} is not made yet: it is derived from the downloaded ${model.title} on first use. Run "composer models fetch ${id}" (in the editor: "Composer: Download Model").`,
    );
}
