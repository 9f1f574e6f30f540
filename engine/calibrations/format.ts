// The compact calibration file (docs/formats.md, section 3): only the parameters shared across
// layers, plus everything needed to tell which base model and task adapters they belong to.
// The lab writes the same format with gguf-py, so reading is strict: a file that does not follow
// the spec is rejected with a specific reason instead of being half-used.

import {createHash} from "node:crypto";
import {readFile} from "node:fs/promises";
import {type ChainKey, chainKey, parseTaskChain, type TaskChain} from "../compose/taskChain.js";
import {
    GgmlType,
    GgufFormatError,
    type GgufHeader,
    GgufTensorFile,
    type GgufTensorInfo,
    type GgufTensorToWrite,
    type GgufValue,
    GgufValueType,
    ggufF32Array,
    ggufString,
    ggufStringArray,
    ggufU32,
    readGgufHeader,
    writeGguf,
} from "../gguf/index.js";
import {isModuleType, MODULE_TYPES, type ModuleType} from "./moduleTypes.js";

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
    readonly file: {readonly path: string; readonly sha256: string; readonly bytes: number};
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
    | "non-finite";

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

const SHA256_HEX = /^[0-9a-f]{64}$/;
const KEY = {
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

// ---------------------------------------------------------------------------------------------
// Reading

/** Reads and checks a calibration's metadata and tensor shapes without reading tensor data. */
export async function readCalibrationSummary(filePath: string): Promise<CalibrationSummary> {
    const header = await readHeader(filePath);
    return summarize(header);
}

/** Reads a whole calibration, checking everything the format requires, values included. */
export async function readCalibration(filePath: string): Promise<StoredCalibration> {
    // The file hash names derived files (expansions), so it must describe exactly the bytes that
    // were parsed: hash before and after parsing, and parse again if the file was replaced meanwhile.
    for (let attempt = 0; attempt < 3; attempt++) {
        const before = await hashFile(filePath);
        const calibration = await parseCalibration(filePath);
        const after = await hashFile(filePath);
        if (before.sha256 === after.sha256) return {...calibration, file: {path: filePath, ...after}};
    }
    throw new Error(`${filePath} kept changing while it was being read.`);
}

async function hashFile(filePath: string): Promise<{sha256: string; bytes: number}> {
    const contents = await readFile(filePath);
    return {sha256: createHash("sha256").update(contents).digest("hex"), bytes: contents.length};
}

async function parseCalibration(filePath: string): Promise<Calibration> {
    const header = await readHeader(filePath);
    const summary = summarize(header);
    const tensorFile = await GgufTensorFile.open(header);
    let parameters: CalibrationParameters;
    try {
        parameters = await readParameters(summary, async (name) => {
            const values = await tensorFile.readF32(name);
            const bad = values.findIndex((value) => !Number.isFinite(value));
            if (bad >= 0)
                throw new CalibrationFormatError(
                    "non-finite",
                    `tensor ${name} has a non-finite value at ${bad}.`,
                    filePath,
                );
            return values;
        });
    } finally {
        await tensorFile.close();
    }
    return {
        architecture: summary.architecture,
        chain: summary.chain,
        baseFingerprint: summary.baseFingerprint,
        adapters: summary.adapters,
        promptTemplate: summary.promptTemplate,
        stopStrings: summary.stopStrings,
        training: summary.training,
        parameters,
    };
}

async function readParameters(
    summary: CalibrationSummary,
    tensorValues: (name: string) => Promise<Float32Array>,
): Promise<CalibrationParameters> {
    if (summary.kind === "lc") {
        const p = new Map<ModuleType, Float32Array>();
        for (const moduleType of summary.modules.keys()) p.set(moduleType, await tensorValues(`cal.${moduleType}.p`));
        return {kind: "lc", p};
    }
    const p1 = new Map<ModuleType, Float32Array>();
    const p2 = new Map<ModuleType, Float32Array>();
    for (const moduleType of summary.modules.keys()) {
        p1.set(moduleType, await tensorValues(`cal.${moduleType}.p1`));
        p2.set(moduleType, await tensorValues(`cal.${moduleType}.p2`));
    }
    return {kind: "lc++", rank: summary.rank, p1, p2};
}

async function readHeader(filePath: string): Promise<GgufHeader> {
    try {
        return await readGgufHeader(filePath);
    } catch (error) {
        // File-system errors (missing file, permissions) pass through unchanged: they are not format problems.
        if (!(error instanceof GgufFormatError)) throw error;
        throw new CalibrationFormatError("not-gguf", `not a valid GGUF file (${error.message}).`, filePath, {
            cause: error,
        });
    }
}

function summarize(header: GgufHeader): CalibrationSummary {
    const meta = new MetadataReader(header);
    const generalType = meta.string(KEY.generalType);
    if (generalType !== CALIBRATION_GENERAL_TYPE) {
        const hint = generalType === "adapter" ? " (this is a LoRA adapter, not a calibration)" : "";
        throw meta.error("wrong-type", `general.type is "${generalType}", expected "calibration"${hint}.`);
    }
    const formatVersion = meta.integer(KEY.formatVersion);
    if (formatVersion !== CALIBRATION_FORMAT_VERSION)
        throw meta.error(
            "unsupported-version",
            `calibration.format_version ${formatVersion} is not supported (this engine reads ${CALIBRATION_FORMAT_VERSION}).`,
        );
    const kind = meta.string(KEY.kind);
    if (!(CALIBRATION_KINDS as readonly string[]).includes(kind))
        throw meta.error(
            "unknown-kind",
            `unknown calibration.kind "${kind}" (known: ${CALIBRATION_KINDS.join(", ")}).`,
        );
    const rank = meta.integer(KEY.rank);
    if (kind === "lc" ? rank !== 1 : rank < 1)
        throw meta.error("bad-metadata", `calibration.rank ${rank} is invalid for kind "${kind}".`);

    const fields = {
        architecture: meta.string(KEY.architecture),
        chain: meta.chain(KEY.chain),
        baseFingerprint: meta.string(KEY.baseFingerprint),
        adapters: meta.adapters(),
        promptTemplate: meta.string(KEY.promptTemplate),
        stopStrings: meta.stringArray(KEY.stopStrings),
        training: meta.json(KEY.training),
    };
    const problem = metadataProblem(fields);
    if (problem !== null) throw meta.error(problem.code, problem.message);

    const modules = tensorModules(header, kind as CalibrationKind, rank);
    let count = 0;
    for (const shape of modules.values()) count += kind === "lc" ? shape.nOut : rank * ((shape.nIn ?? 0) + shape.nOut);
    return {
        path: header.filePath,
        bytes: header.fileSize,
        kind: kind as CalibrationKind,
        rank,
        chainKey: chainKey(fields.chain),
        ...fields,
        modules,
        parameterCount: count,
    };
}

interface MetadataFields {
    readonly architecture: string;
    readonly baseFingerprint: string;
    readonly adapters: readonly CalibrationAdapterRef[];
    readonly promptTemplate: string;
}

/** Checks shared by reading and writing, so both sides enforce one rule set. */
function metadataProblem(fields: MetadataFields): {code: CalibrationErrorCode; message: string} | null {
    if (fields.architecture.length === 0) return {code: "bad-metadata", message: "general.architecture is empty."};
    if (!SHA256_HEX.test(fields.baseFingerprint))
        return {code: "bad-metadata", message: "calibration.base_fingerprint is not 64 lower-case hex digits."};
    if (fields.adapters.length === 0)
        return {code: "bad-metadata", message: "a calibration needs at least one merged task adapter."};
    for (const adapter of fields.adapters) {
        if (adapter.id.length === 0) return {code: "bad-metadata", message: "an adapter id is empty."};
        if (!SHA256_HEX.test(adapter.sha256))
            return {code: "bad-metadata", message: `adapter "${adapter.id}": sha256 is not 64 lower-case hex digits.`};
        if (!Number.isFinite(adapter.mergeWeight))
            return {code: "non-finite", message: `adapter "${adapter.id}": merge weight is not finite.`};
    }
    const placeholders = fields.promptTemplate.split("{input}").length - 1;
    if (placeholders !== 1)
        return {
            code: "bad-metadata",
            message: `calibration.prompt_template must contain {input} exactly once (found ${placeholders}).`,
        };
    return null;
}

const TENSOR_NAME = /^cal\.([a-z_]+)\.(p|p1|p2)$/;

function tensorModules(
    header: GgufHeader,
    kind: CalibrationKind,
    rank: number,
): ReadonlyMap<ModuleType, CalibratedModuleShape> {
    const fail = (code: CalibrationErrorCode, message: string) =>
        new CalibrationFormatError(code, message, header.filePath);
    const allowedParts = kind === "lc" ? ["p"] : ["p1", "p2"];
    const byModule = new Map<ModuleType, Map<string, GgufTensorInfo>>();
    for (const tensor of header.tensors) {
        const match = TENSOR_NAME.exec(tensor.name);
        const moduleType = match?.[1];
        const part = match?.[2];
        if (moduleType === undefined || part === undefined || !isModuleType(moduleType) || !allowedParts.includes(part))
            throw fail("unexpected-tensor", `unexpected tensor "${tensor.name}" in a "${kind}" calibration.`);
        if (tensor.type !== GgmlType.F32)
            throw fail("tensor-type", `tensor ${tensor.name} has GGML type ${tensor.type}; calibrations are F32.`);
        const parts = byModule.get(moduleType) ?? new Map<string, GgufTensorInfo>();
        parts.set(part, tensor);
        byModule.set(moduleType, parts);
    }
    if (byModule.size === 0) throw fail("missing-tensor", "the calibration has no parameter tensors.");

    const modules = new Map<ModuleType, CalibratedModuleShape>();
    for (const moduleType of MODULE_TYPES) {
        const parts = byModule.get(moduleType);
        if (parts === undefined) continue;
        for (const part of allowedParts)
            if (!parts.has(part)) throw fail("missing-tensor", `tensor cal.${moduleType}.${part} is missing.`);
        if (kind === "lc") {
            const p = parts.get("p") as GgufTensorInfo;
            const [nOut] = dims(p, 1) ?? [];
            if (nOut === undefined) throw fail("shape-mismatch", `${p.name} must be a vector, got ne {${p.ne}}.`);
            modules.set(moduleType, {nIn: null, nOut});
        } else {
            const p1 = parts.get("p1") as GgufTensorInfo;
            const p2 = parts.get("p2") as GgufTensorInfo;
            const [nIn, rank1] = dims(p1, 2) ?? [];
            const [rank2, nOut] = dims(p2, 2) ?? [];
            if (nIn === undefined || rank1 !== rank)
                throw fail("shape-mismatch", `${p1.name} must have ne {n_in, ${rank}}, got {${p1.ne}}.`);
            if (nOut === undefined || rank2 !== rank)
                throw fail("shape-mismatch", `${p2.name} must have ne {${rank}, n_out}, got {${p2.ne}}.`);
            modules.set(moduleType, {nIn, nOut});
        }
    }
    return modules;
}

/** The tensor's `ne` as exactly `count` dimensions (trailing 1s dropped), or null. */
function dims(tensor: GgufTensorInfo, count: number): number[] | null {
    const ne = [...tensor.ne];
    while (ne.length > count && ne[ne.length - 1] === 1) ne.pop();
    while (ne.length < count) ne.push(1);
    if (ne.length !== count || ne.some((n) => !Number.isInteger(n) || n < 1)) return null;
    return ne;
}

/** Typed metadata access whose failures name the key and the file. */
class MetadataReader {
    constructor(private readonly header: GgufHeader) {}

    error(code: CalibrationErrorCode, message: string): CalibrationFormatError {
        return new CalibrationFormatError(code, message, this.header.filePath);
    }

    private value(key: string): GgufValue {
        const value = this.header.metadata.get(key);
        if (value === undefined) throw this.error("bad-metadata", `metadata key ${key} is missing.`);
        return value;
    }

    string(key: string): string {
        const value = this.value(key);
        if (value.type !== GgufValueType.STRING) throw this.error("bad-metadata", `${key} must be a string.`);
        return value.value;
    }

    integer(key: string): number {
        const value = this.value(key);
        const number = typeof value.value === "bigint" ? Number(value.value) : value.value;
        if (typeof number !== "number" || !Number.isInteger(number) || number < 0 || !INTEGER_TYPES.has(value.type))
            throw this.error("bad-metadata", `${key} must be an unsigned integer.`);
        return number;
    }

    private array(key: string, itemTypes: ReadonlySet<GgufValueType>): readonly (string | number | bigint | boolean)[] {
        const value = this.value(key);
        if (value.type !== GgufValueType.ARRAY || (value.value.length > 0 && !itemTypes.has(value.itemType)))
            throw this.error("bad-metadata", `${key} must be an array of ${describeTypes(itemTypes)}.`);
        return value.value;
    }

    stringArray(key: string): string[] {
        return this.array(key, new Set([GgufValueType.STRING])).map(String);
    }

    numberArray(key: string): number[] {
        return this.array(key, FLOAT_TYPES).map(Number);
    }

    chain(key: string): TaskChain {
        const text = this.string(key);
        let chain: TaskChain;
        try {
            chain = parseTaskChain(text);
        } catch (error) {
            throw this.error("bad-metadata", `${key} "${text}": ${error instanceof Error ? error.message : error}`);
        }
        if (chainKey(chain) !== text)
            throw this.error("bad-metadata", `${key} "${text}" is not canonical (expected "${chainKey(chain)}").`);
        return chain;
    }

    json(key: string): unknown {
        const text = this.string(key);
        try {
            return JSON.parse(text) as unknown;
        } catch {
            throw this.error("bad-metadata", `${key} is not valid JSON.`);
        }
    }

    adapters(): CalibrationAdapterRef[] {
        const ids = this.stringArray(KEY.adapterIds);
        const hashes = this.stringArray(KEY.adapterSha256);
        const weights = this.numberArray(KEY.mergeWeights);
        if (hashes.length !== ids.length || weights.length !== ids.length)
            throw this.error(
                "array-length-mismatch",
                `adapter_ids (${ids.length}), adapter_sha256 (${hashes.length}) and merge_weights (${weights.length}) must have the same length.`,
            );
        return ids.map((id, index) => ({id, sha256: hashes[index] as string, mergeWeight: weights[index] as number}));
    }
}

const INTEGER_TYPES: ReadonlySet<GgufValueType> = new Set([
    GgufValueType.UINT8,
    GgufValueType.UINT16,
    GgufValueType.UINT32,
    GgufValueType.UINT64,
    GgufValueType.INT8,
    GgufValueType.INT16,
    GgufValueType.INT32,
    GgufValueType.INT64,
]);
// gguf-py may store Python floats as float32 or float64 depending on how the lab builds the array.
const FLOAT_TYPES: ReadonlySet<GgufValueType> = new Set([GgufValueType.FLOAT32, GgufValueType.FLOAT64]);

function describeTypes(types: ReadonlySet<GgufValueType>): string {
    return [...types].map((type) => GgufValueType[type]).join(" or ");
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Writes a calibration (atomically) after checking it against the same rules the reader applies. */
export async function writeCalibration(filePath: string, calibration: Calibration): Promise<void> {
    const problem = metadataProblem(calibration);
    if (problem !== null) throw new CalibrationFormatError(problem.code, problem.message, filePath);
    const tensors = parameterTensors(calibration.parameters, filePath);
    const {parameters} = calibration;
    await writeGguf(filePath, {
        metadata: [
            [KEY.generalType, ggufString(CALIBRATION_GENERAL_TYPE)],
            [KEY.architecture, ggufString(calibration.architecture)],
            [KEY.formatVersion, ggufU32(CALIBRATION_FORMAT_VERSION)],
            [KEY.kind, ggufString(parameters.kind)],
            [KEY.chain, ggufString(chainKey(calibration.chain))],
            [KEY.baseFingerprint, ggufString(calibration.baseFingerprint)],
            [KEY.adapterIds, ggufStringArray(calibration.adapters.map((adapter) => adapter.id))],
            [KEY.adapterSha256, ggufStringArray(calibration.adapters.map((adapter) => adapter.sha256))],
            [KEY.mergeWeights, ggufF32Array(calibration.adapters.map((adapter) => adapter.mergeWeight))],
            [KEY.rank, ggufU32(parameters.kind === "lc" ? 1 : parameters.rank)],
            [KEY.promptTemplate, ggufString(calibration.promptTemplate)],
            [KEY.stopStrings, ggufStringArray([...calibration.stopStrings])],
            [KEY.training, ggufString(JSON.stringify(calibration.training ?? {}))],
        ],
        tensors,
    });
}

function parameterTensors(parameters: CalibrationParameters, filePath: string): GgufTensorToWrite[] {
    const fail = (code: CalibrationErrorCode, message: string) => new CalibrationFormatError(code, message, filePath);
    const checked = (name: string, values: Float32Array | undefined): Float32Array => {
        if (values === undefined) throw fail("missing-tensor", `${name} is missing.`);
        if (values.length === 0) throw fail("shape-mismatch", `${name} is empty.`);
        if (!values.every(Number.isFinite)) throw fail("non-finite", `${name} has a non-finite value.`);
        return values;
    };
    const tensors: GgufTensorToWrite[] = [];
    if (parameters.kind === "lc") {
        for (const moduleType of MODULE_TYPES) {
            if (!parameters.p.has(moduleType)) continue;
            const p = checked(`cal.${moduleType}.p`, parameters.p.get(moduleType));
            tensors.push({name: `cal.${moduleType}.p`, ne: [p.length], type: "F32", data: p});
        }
    } else {
        const {rank} = parameters;
        if (!Number.isInteger(rank) || rank < 1) throw fail("bad-metadata", `LC++ rank ${rank} must be >= 1.`);
        for (const moduleType of MODULE_TYPES) {
            if (!parameters.p1.has(moduleType) && !parameters.p2.has(moduleType)) continue;
            const p1 = checked(`cal.${moduleType}.p1`, parameters.p1.get(moduleType));
            const p2 = checked(`cal.${moduleType}.p2`, parameters.p2.get(moduleType));
            if (p1.length % rank !== 0 || p2.length % rank !== 0)
                throw fail("shape-mismatch", `cal.${moduleType}: p1/p2 lengths are not multiples of rank ${rank}.`);
            tensors.push({name: `cal.${moduleType}.p1`, ne: [p1.length / rank, rank], type: "F32", data: p1});
            tensors.push({name: `cal.${moduleType}.p2`, ne: [rank, p2.length / rank], type: "F32", data: p2});
        }
    }
    for (const key of calibratedKeys(parameters))
        if (!isModuleType(key)) throw fail("unexpected-tensor", `"${key}" is not a module type.`);
    if (tensors.length === 0) throw fail("missing-tensor", "the calibration has no parameter tensors.");
    return tensors;
}

function calibratedKeys(parameters: CalibrationParameters): string[] {
    return parameters.kind === "lc" ? [...parameters.p.keys()] : [...parameters.p1.keys(), ...parameters.p2.keys()];
}
