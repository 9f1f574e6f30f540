// The compact calibration file (docs/formats.md, section 3): only the parameters shared across
// layers, plus everything needed to tell which base model and task adapters they belong to. This
// module holds the types, keys and the rules reading and writing share; read.ts and write.ts apply
// them (the lab writes the same format with gguf-py).

import {mergeWeightProblem} from "../adapters/limits";
import {type ChainKey, chainKey, type TaskChain} from "../compose/taskChain";
import type {FileVersion} from "../files/fileVersion";
import {quote} from "../messages/quote";
import type {ModuleType} from "./moduleTypes";

export const CALIBRATION_FORMAT_VERSION = 1;
export const CALIBRATION_GENERAL_TYPE = "calibration";
export const CALIBRATION_KINDS = ["lc", "lc++"] as const;
export type CalibrationKind = (typeof CALIBRATION_KINDS)[number];
/** LC++ rank used by the lab; the format allows any rank >= 1. */
export const DEFAULT_LCPP_RANK = 4;

/** LC: one column bias `p_m` (length n_out) per calibrated module type. */
export interface LcParameters {
    readonly kind: "lc";
    readonly p: ReadonlyMap<ModuleType, Float32Array>;
}

/**
 * LC++: one low-rank pair per calibrated module type, row-major like PyTorch:
 * `p1` is `[rank][n_in]` (like lora_A), `p2` is `[n_out][rank]` (like lora_B).
 */
export interface LcppParameters {
    readonly kind: "lc++";
    readonly rank: number;
    readonly p1: ReadonlyMap<ModuleType, Float32Array>;
    readonly p2: ReadonlyMap<ModuleType, Float32Array>;
}

export type CalibrationParameters = LcParameters | LcppParameters;

/** One merged task adapter, in concatenation order. */
export interface CalibrationAdapterRef {
    readonly id: string;
    /** sha256 of the adapter's `adapter.gguf`, lower-case hex. */
    readonly sha256: string;
    /** `w_i`; stored as float32, so a read value is `Math.fround` of the written one. */
    readonly mergeWeight: number;
}

export interface Calibration {
    readonly architecture: string;
    readonly chain: TaskChain;
    readonly baseFingerprint: string;
    readonly adapters: readonly CalibrationAdapterRef[];
    readonly promptTemplate: string;
    readonly stopStrings: readonly string[];
    /** Free-form JSON value describing how it was trained. */
    readonly training: unknown;
    readonly parameters: CalibrationParameters;
}

/** Shape of one calibrated module; `nIn` is only known for LC++ (LC's `p` has n_out entries). */
export interface CalibratedModuleShape {
    readonly nIn: number | null;
    readonly nOut: number;
}

/** Everything in a calibration file except the parameter values: what a header read gives. */
export interface CalibrationSummary {
    readonly path: string;
    readonly bytes: number;
    readonly architecture: string;
    readonly kind: CalibrationKind;
    readonly rank: number;
    readonly chain: TaskChain;
    readonly chainKey: ChainKey;
    readonly baseFingerprint: string;
    readonly adapters: readonly CalibrationAdapterRef[];
    readonly promptTemplate: string;
    readonly stopStrings: readonly string[];
    readonly training: unknown;
    readonly modules: ReadonlyMap<ModuleType, CalibratedModuleShape>;
    readonly parameterCount: number;
}

/** A calibration read from disk; the file hash binds derived files (expansions) to it. */
export interface StoredCalibration extends Calibration {
    readonly file: {
        readonly path: string;
        readonly sha256: string;
        readonly bytes: number;
        /** The version of the file these bytes are (files/fileVersion.ts). */
        readonly version: FileVersion;
    };
}

export type CalibrationErrorCode =
    | "not-gguf"
    | "wrong-type"
    | "unsupported-version"
    | "unknown-kind"
    | "bad-metadata"
    | "array-length-mismatch"
    | "missing-tensor"
    | "unexpected-tensor"
    | "tensor-type"
    | "shape-mismatch"
    | "non-finite"
    | "value-out-of-range"
    | "too-strong"
    | "misnamed";

export class CalibrationFormatError extends Error {
    override name = "CalibrationFormatError";
    constructor(
        readonly code: CalibrationErrorCode,
        message: string,
        readonly filePath?: string,
        options?: ErrorOptions,
    ) {
        super(filePath === undefined ? message : `${filePath}: ${message}`, options);
    }
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Metadata keys (formats.md, section 3). */
export const KEY = {
    generalType: "general.type",
    architecture: "general.architecture",
    formatVersion: "calibration.format_version",
    kind: "calibration.kind",
    chain: "calibration.chain",
    baseFingerprint: "calibration.base_fingerprint",
    adapterIds: "calibration.adapter_ids",
    adapterSha256: "calibration.adapter_sha256",
    mergeWeights: "calibration.merge_weights",
    rank: "calibration.rank",
    promptTemplate: "calibration.prompt_template",
    stopStrings: "calibration.stop_strings",
    training: "calibration.training",
} as const;

/** `summarize+translate:fr` + `lc++` -> `summarize+translate-fr.lcpp.gguf` (formats.md, section 3). */
export function calibrationFileName(chain: TaskChain, kind: CalibrationKind): string {
    return `${chainKey(chain).replaceAll(":", "-")}.${kindFileTag(kind)}.gguf`;
}

function kindFileTag(kind: CalibrationKind): string {
    return kind === "lc" ? "lc" : "lcpp";
}

export function parameterCount(parameters: CalibrationParameters): number {
    const maps = parameters.kind === "lc" ? [parameters.p] : [parameters.p1, parameters.p2];
    let count = 0;
    for (const map of maps) for (const values of map.values()) count += values.length;
    return count;
}

export interface MetadataFields {
    readonly architecture: string;
    readonly baseFingerprint: string;
    readonly adapters: readonly CalibrationAdapterRef[];
    readonly promptTemplate: string;
}

/** Checks shared by reading and writing, so both sides enforce one rule set. */
export function metadataProblem(fields: MetadataFields): {code: CalibrationErrorCode; message: string} | null {
    if (fields.architecture.length === 0) return {code: "bad-metadata", message: "general.architecture is empty."};
    if (!SHA256_HEX.test(fields.baseFingerprint))
        return {code: "bad-metadata", message: "calibration.base_fingerprint is not 64 lower-case hex digits."};
    if (fields.adapters.length === 0)
        return {code: "bad-metadata", message: "a calibration needs at least one merged task adapter."};
    for (const adapter of fields.adapters) {
        if (adapter.id.length === 0) return {code: "bad-metadata", message: "an adapter id is empty."};
        if (!SHA256_HEX.test(adapter.sha256))
            return {
                code: "bad-metadata",
                message: `adapter ${quote(adapter.id)}: sha256 is not 64 lower-case hex digits.`,
            };
        const weightProblem = mergeWeightProblem(adapter.mergeWeight);
        if (weightProblem !== null)
            return {
                code: Number.isFinite(adapter.mergeWeight) ? "value-out-of-range" : "non-finite",
                message: `adapter ${quote(adapter.id)}: ${weightProblem}.`,
            };
    }
    const placeholders = fields.promptTemplate.split("{input}").length - 1;
    if (placeholders !== 1)
        return {
            code: "bad-metadata",
            message: `calibration.prompt_template must contain {input} exactly once (found ${placeholders}).`,
        };
    return null;
}
