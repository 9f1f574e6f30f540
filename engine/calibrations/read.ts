// Reads compact calibration files (format.ts). Strict: a file that does not follow the spec is
// rejected with a specific reason instead of being half-used.

import {readFile} from "node:fs/promises";
import {firstValueOutOfRange, frobeniusNorm, LORA_STRENGTH_LIMIT, LORA_VALUE_LIMIT} from "../adapters/limits";
import {chainKey, parseTaskChain, type TaskChain} from "../compose/taskChain";
import {fileVersion, sameVersion} from "../files/fileVersion";
import {FileKeptChangingError, sha256Text} from "../files/sha256";
import {
    GgmlType,
    GgufFormatError,
    type GgufHeader,
    GgufTensorFile,
    type GgufTensorInfo,
    type GgufValue,
    GgufValueType,
    readGgufHeader,
    readGgufHeaderFromBytes,
} from "../gguf";
import {quote} from "../messages/quote";
import {
    CALIBRATION_FORMAT_VERSION,
    CALIBRATION_GENERAL_TYPE,
    CALIBRATION_KINDS,
    type CalibratedModuleShape,
    type Calibration,
    type CalibrationAdapterRef,
    type CalibrationErrorCode,
    CalibrationFormatError,
    type CalibrationKind,
    type CalibrationParameters,
    type CalibrationSummary,
    KEY,
    type LcppParameters,
    metadataProblem,
    type StoredCalibration,
} from "./format";
import {isModuleType, MODULE_TYPES, type ModuleType} from "./moduleTypes";

/** Reads and checks a calibration's metadata and tensor shapes without reading tensor data. */
export async function readCalibrationSummary(filePath: string): Promise<CalibrationSummary> {
    const header = await readHeader(filePath);
    return summarize(header);
}

/**
 * Reads a whole calibration, checking everything the format requires, values included. The file
 * is read once; its sha256 (which names every file derived from it) is of exactly the bytes parsed.
 */
export async function readCalibration(filePath: string): Promise<StoredCalibration> {
    for (let attempt = 0; attempt < 3; attempt++) {
        const before = await fileVersion(filePath);
        const bytes = await readFile(filePath);
        // A write during the read could tear it: take the bytes only if the file stayed one version.
        if (before === null || !sameVersion(before, await fileVersion(filePath))) continue;
        const calibration = await parseCalibration(bytes, filePath);
        return {
            ...calibration,
            file: {path: filePath, sha256: sha256Text(bytes), bytes: bytes.length, version: before},
        };
    }
    throw new FileKeptChangingError(`${filePath} kept changing while it was being read.`);
}

async function parseCalibration(bytes: Uint8Array, filePath: string): Promise<Calibration> {
    const header = await readHeader(filePath, bytes);
    const summary = summarize(header);
    const tensorFile = GgufTensorFile.fromBytes(header, bytes);
    let parameters: CalibrationParameters;
    try {
        parameters = await readParameters(summary, async (name) => {
            const values = await tensorFile.readF32(name);
            const bad = firstValueOutOfRange(values);
            if (bad >= 0) {
                const value = values[bad] ?? Number.NaN;
                throw Number.isFinite(value)
                    ? new CalibrationFormatError(
                          "value-out-of-range",
                          `tensor ${name} holds ${value} at index ${bad}; values must lie within ±${LORA_VALUE_LIMIT} ` +
                              "(trained calibrations stay below 0.1): llama.cpp would compute Inf/NaN and answer with empty text.",
                          filePath,
                      )
                    : new CalibrationFormatError(
                          "non-finite",
                          `tensor ${name} holds ${value} at index ${bad}; values must be finite.`,
                          filePath,
                      );
            }
            return values;
        });
    } finally {
        await tensorFile.close();
    }
    if (parameters.kind === "lc++") checkLcppStrength(parameters, filePath);
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

/**
 * An LC++ pair is loaded as a LoRA at scale 1, so its strength is ‖P1‖ * ‖P2‖ (adapters/limits.ts).
 * LC's strength depends on the adapters' A; expand.ts checks it.
 */
function checkLcppStrength(parameters: LcppParameters, filePath: string): void {
    for (const [moduleType, p1] of parameters.p1) {
        const strength = frobeniusNorm(p1) * frobeniusNorm(parameters.p2.get(moduleType) ?? []);
        if (!(strength <= LORA_STRENGTH_LIMIT))
            throw new CalibrationFormatError(
                "too-strong",
                `cal.${moduleType} has strength ‖P1‖ * ‖P2‖ = ${strength.toPrecision(3)}, above the limit ${LORA_STRENGTH_LIMIT} ` +
                    "(trained calibrations stay below 2): a change this large drives the model to Inf/NaN and empty text.",
                filePath,
            );
    }
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

/** The header, from `bytes` when the file is already in memory; a format problem becomes a CalibrationFormatError. */
async function readHeader(filePath: string, bytes?: Uint8Array): Promise<GgufHeader> {
    try {
        return await (bytes === undefined ? readGgufHeader(filePath) : readGgufHeaderFromBytes(bytes, filePath));
    } catch (error) {
        // File-system errors (missing file, permissions) pass through unchanged: they are not format problems.
        if (!(error instanceof GgufFormatError)) throw error;
        // The GGUF error starts with the path too; say it once.
        const detail = error.message.startsWith(`${filePath}: `)
            ? error.message.slice(filePath.length + 2)
            : error.message;
        throw new CalibrationFormatError("not-gguf", `not a valid GGUF file (${detail}).`, filePath, {
            cause: error,
        });
    }
}

function summarize(header: GgufHeader): CalibrationSummary {
    const meta = new MetadataReader(header);
    const generalType = meta.string(KEY.generalType);
    if (generalType !== CALIBRATION_GENERAL_TYPE) {
        const hint = generalType === "adapter" ? " (this is a LoRA adapter, not a calibration)" : "";
        throw meta.error("wrong-type", `general.type is ${quote(generalType)}, expected "calibration"${hint}.`);
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
            `unknown calibration.kind ${quote(kind)} (known: ${CALIBRATION_KINDS.join(", ")}).`,
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
            throw fail("unexpected-tensor", `unexpected tensor ${quote(tensor.name)} in a "${kind}" calibration.`);
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
            throw this.error(
                "bad-metadata",
                `${key} ${quote(text)}: ${error instanceof Error ? error.message : error}`,
            );
        }
        if (chainKey(chain) !== text)
            throw this.error("bad-metadata", `${key} ${quote(text)} is not canonical (expected "${chainKey(chain)}").`);
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
