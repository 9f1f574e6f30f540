// A pinned model's derived files (catalog.ts `derived`), made next to it in the models folder
// when the setting names one and it is missing or damaged, and reused while intact. A derived
// file is pinned by its sha256 like a download: one that does not match is rebuilt, and a build
// that does not match is refused. Engine side only (the extension host asks the engine process).

import {stat} from "node:fs/promises";
import {join} from "node:path";
import {derivedFile} from "../files/derivedFile";
import {sha256File} from "../files/sha256";
import {ggufString} from "../gguf";
import type {DerivedModel, KnownModel} from "./catalog";
import {requantizeModel} from "./requantize";
import {ModelNotAvailableError} from "./setting";

export class DerivedModelError extends Error {
    override name = "DerivedModelError";
}

export interface DerivedModelFile {
    readonly path: string;
    /** True when it was (re)built now, false when an intact file was reused. */
    readonly built: boolean;
}

/** Writes `destination` from the pinned file at `source`: the bytes the catalog's sha256 pins. */
export async function deriveModelFile(
    model: KnownModel,
    variant: DerivedModel,
    source: string,
    destination: string,
    signal?: AbortSignal,
): Promise<void> {
    await requantizeModel(
        source,
        destination,
        variant.quantization,
        [
            ["composer.derived_from.file", ggufString(model.fileName)],
            ["composer.derived_from.sha256", ggufString(model.sha256)],
        ],
        {signal},
    );
}

export interface EnsureDerivedModelOptions {
    /** The pinned file was just verified (a fetch did it): skip hashing it again. */
    readonly sourceVerified?: boolean;
    /** Stops the build between tensors; nothing is left behind. */
    readonly signal?: AbortSignal;
    /** Told (0, 1) when a build starts and (1, 1) once the built file is in place; silent on reuse. */
    readonly onProgress?: (done: number, total: number) => void;
}

/**
 * The derived file next to the pinned one in `modelsDir`, reused while it matches its record
 * (size, modification time, the catalog's sha256), else built again from the pinned file.
 */
export async function ensureDerivedModel(
    model: KnownModel,
    variant: DerivedModel,
    modelsDir: string,
    options: EnsureDerivedModelOptions = {},
): Promise<DerivedModelFile> {
    const source = join(modelsDir, model.fileName);
    const result = await derivedFile(
        join(modelsDir, variant.fileName),
        async (temporary) => {
            const present = await stat(source).then(
                (info) => info.isFile(),
                () => false,
            );
            if (!present)
                throw new ModelNotAvailableError(
                    `${variant.title} is made from ${model.title}, which is not downloaded yet. Run "composer models fetch ${variant.id}".`,
                );
            // Built only from the pinned bytes: anything else would be refused at the end anyway.
            if (!options.sourceVerified && (await sha256File(source)) !== model.sha256)
                throw new DerivedModelError(
                    `${source} is not the pinned ${model.title} (its sha256 differs); run "composer models fetch ${variant.id}" to fetch it again.`,
                );
            options.onProgress?.(0, 1);
            await deriveModelFile(model, variant, source, temporary, options.signal);
        },
        {expectedSha256: variant.sha256, trustUnchanged: true},
    );
    if (result.built) options.onProgress?.(1, 1);
    return {path: result.filePath, built: result.built};
}
