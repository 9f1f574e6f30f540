// Errors for task adapters. Codes are stable strings: the CLI, the extension and tests match on
// them, so rename one only together with every caller.

export type AdapterValidationCode =
    | "manifest-missing"
    | "manifest-unparseable"
    | "manifest-invalid"
    | "file-missing"
    | "sha256-mismatch"
    | "not-gguf"
    | "gguf-truncated"
    | "gguf-invalid"
    | "not-adapter"
    | "not-lora"
    | "architecture-mismatch"
    | "fingerprint-mismatch"
    | "unknown-base-tensor"
    | "bad-tensor-suffix"
    | "missing-lora-pair"
    | "shape-mismatch"
    | "rank-inconsistent"
    | "rank-mismatch"
    | "alpha-mismatch"
    | "target-modules-mismatch"
    | "tensor-type-unsupported"
    | "non-finite-value"
    | "value-out-of-range"
    | "too-strong"
    | "metadata-type"
    | "id-mismatch";

/** An adapter llama.cpp must not be given; the message names the file and the exact problem. */
export class AdapterValidationError extends Error {
    override name = "AdapterValidationError";
    constructor(
        readonly code: AdapterValidationCode,
        message: string,
        /** The manifest field at fault, for `manifest-invalid`. */
        readonly field?: string,
    ) {
        super(message);
    }
}

export type AdapterStoreCode = "not-found" | "already-exists" | "read-only" | "bad-source" | "bad-id" | "not-a-folder";

export class AdapterStoreError extends Error {
    override name = "AdapterStoreError";
    constructor(
        readonly code: AdapterStoreCode,
        message: string,
    ) {
        super(message);
    }
}

/**
 * An adapter file no longer holds the bytes the engine hashed when it listed it (replaced or
 * edited since): it is neither given to llama.cpp nor fused into a file named by the old hash.
 */
export class AdapterChangedError extends Error {
    override name = "AdapterChangedError";
    readonly code = "adapter-changed";
    constructor(filePath: string, detail = "") {
        super(
            `${filePath} changed on disk after the engine listed it${detail}; it is not used. ` +
                'Check it with "composer adapters verify"; the engine lists adapters again when they are installed or removed.',
        );
    }
}
