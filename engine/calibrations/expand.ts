// Turns a compact calibration into an ordinary llama.cpp LoRA adapter (docs/formats.md,
// section 4), because llama.cpp accepts no bias tensors but does accept one more LoRA:
// - LC:   Δ(x) = p (1^T A_cat x)  ->  per layer A_l = 1^T A_cat,l (1 x n_in), B_l = p;
// - LC++: Δ(x) = P2 (P1 x)        ->  A_l = P1, B_l = P2 in every layer.
// Ranks are zero-padded to a multiple of 16 (llama.cpp's fast path) with alpha = padded rank,
// so llama.cpp's alpha/r factor is exactly 1 and the calibration is loaded at scale 1.
// Each expansion has a record (`<file>.json`: size and sha256) written after it; a file that
// does not match its record (truncated, damaged, half-copied) is rebuilt before use.

import {createHash, randomBytes} from "node:crypto";
import {mkdir, readFile, rename, stat, unlink, writeFile} from "node:fs/promises";
import {basename, dirname, join} from "node:path";
import {firstValueOutOfRange, frobeniusNorm, LORA_STRENGTH_LIMIT, LORA_VALUE_LIMIT} from "../adapters/limits";
import {sha256File} from "../files/sha256";
import {GgufTensorFile, type GgufTensorToWrite, ggufF32, ggufString, readGgufHeader, writeGguf} from "../gguf";
import {distinctPrefixes, quote} from "../messages/quote";
import type {BaseModelStructure} from "../model/fingerprint";
import type {LcParameters, LcppParameters, StoredCalibration} from "./format";
import {baseTensorName, MODULE_TYPES, type ModuleType} from "./moduleTypes";

/** Part of every expanded file's name: bump it whenever the expansion's output would change. */
export const EXPANDER_VERSION = "composer-calibration-expander/1";
/** Ranks are padded to a multiple of this (llama.cpp's AVX-512 path for B(Ax) wants K % 16 == 0). */
export const RANK_PADDING = 16;

/** A task adapter file the calibration merges, given in the calibration's adapter order. */
export interface AdapterFileRef {
    /** sha256 of the file, as verified by whoever loaded the adapter; it names the cached expansion. */
    readonly sha256: string;
    readonly ggufPath: string;
}

export type CalibrationExpansionErrorCode =
    | "base-mismatch"
    | "architecture-mismatch"
    | "adapter-mismatch"
    | "shape-mismatch"
    | "no-target"
    | "too-strong";

export class CalibrationExpansionError extends Error {
    override name = "CalibrationExpansionError";
    constructor(
        readonly code: CalibrationExpansionErrorCode,
        message: string,
    ) {
        super(message);
    }
}

export function paddedRank(rank: number): number {
    return Math.ceil(rank / RANK_PADDING) * RANK_PADDING;
}

/**
 * File name of an expansion: content-addressed, because llama.cpp caches adapters by path and
 * would silently keep stale weights if a changed input reused a name.
 */
export function expandedCalibrationFileName(calibrationSha256: string, adapterSha256s: readonly string[]): string {
    const hash = createHash("sha256")
        .update(`${EXPANDER_VERSION}\n${calibrationSha256}\n${adapterSha256s.join("\n")}\n`)
        .digest("hex");
    return `calibration-${hash}.lora.gguf`;
}

/**
 * Returns the path of the expanded LoRA adapter for `calibration` in `cacheDir`, writing it
 * (atomically) unless an intact copy (size and sha256 as recorded when it was written) is there.
 */
export async function expandCalibration(
    calibration: StoredCalibration,
    adapters: readonly AdapterFileRef[],
    base: BaseModelStructure,
    cacheDir: string,
): Promise<string> {
    checkBinding(calibration, adapters, base);
    const filePath = join(
        cacheDir,
        expandedCalibrationFileName(
            calibration.file.sha256,
            adapters.map((adapter) => adapter.sha256),
        ),
    );
    if (await isIntactExpansion(filePath)) return filePath;

    const expansion = await buildExpansion(calibration, adapters, base);
    await mkdir(cacheDir, {recursive: true});
    await writeGguf(filePath, {
        metadata: [
            ["general.type", ggufString("adapter")],
            ["general.architecture", ggufString(base.architecture)],
            ["general.name", ggufString(`calibration ${calibration.parameters.kind} ${calibration.file.sha256}`)],
            ["adapter.type", ggufString("lora")],
            ["adapter.lora.alpha", ggufF32(expansion.rank)],
        ],
        tensors: expansion.tensors,
    });
    await writeExpansionRecord(filePath);
    return filePath;
}

/** What an expansion's record holds: enough to tell a damaged file from the one written. */
interface ExpansionRecord {
    readonly bytes: number;
    readonly sha256: string;
}

function recordPath(filePath: string): string {
    return `${filePath}.json`;
}

async function writeExpansionRecord(filePath: string): Promise<void> {
    const record: ExpansionRecord = {bytes: (await stat(filePath)).size, sha256: await sha256File(filePath)};
    // Written aside and renamed, so a crash leaves either no record (the file is rebuilt) or a whole one.
    const temp = join(dirname(filePath), `.${basename(filePath)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    try {
        await writeFile(temp, `${JSON.stringify(record)}\n`);
        await rename(temp, recordPath(filePath));
    } finally {
        await unlink(temp).catch(() => undefined);
    }
}

/** True when `filePath` exists with exactly the size and sha256 its record says. */
export async function isIntactExpansion(filePath: string): Promise<boolean> {
    let record: Partial<ExpansionRecord>;
    try {
        record = JSON.parse(await readFile(recordPath(filePath), "utf8")) as Partial<ExpansionRecord>;
    } catch {
        return false;
    }
    const size = await stat(filePath).then(
        (info) => (info.isFile() ? info.size : -1),
        () => -1,
    );
    if (size < 0 || size !== record.bytes) return false;
    return (await sha256File(filePath)) === record.sha256;
}

/** Size and modification time of a file, to notice cheaply that it changed after it was verified. */
export interface FileStamp {
    readonly path: string;
    readonly bytes: number;
    readonly mtimeMs: number;
}

export async function fileStamp(path: string): Promise<FileStamp | null> {
    const info = await stat(path).catch(() => undefined);
    return info === undefined ? null : {path, bytes: info.size, mtimeMs: info.mtimeMs};
}

export async function isUnchanged(stamp: FileStamp): Promise<boolean> {
    const now = await fileStamp(stamp.path);
    return now !== null && now.bytes === stamp.bytes && now.mtimeMs === stamp.mtimeMs;
}

/**
 * Builds the expansion in memory and throws what `expandCalibration` would (wrong base or
 * adapters, shapes, a pair beyond the strength limit), without writing anything: what
 * `calibrations verify` runs, so a calibration it passes can be expanded.
 */
export async function checkCalibrationExpansion(
    calibration: StoredCalibration,
    adapters: readonly AdapterFileRef[],
    base: BaseModelStructure,
): Promise<void> {
    checkBinding(calibration, adapters, base);
    await buildExpansion(calibration, adapters, base);
}

async function buildExpansion(
    calibration: StoredCalibration,
    adapters: readonly AdapterFileRef[],
    base: BaseModelStructure,
): Promise<Expansion> {
    const {parameters} = calibration;
    return parameters.kind === "lc" ? expandLcWithAdapters(parameters, adapters, base) : expandLcpp(parameters, base);
}

function checkBinding(
    calibration: StoredCalibration,
    adapters: readonly AdapterFileRef[],
    base: BaseModelStructure,
): void {
    if (calibration.baseFingerprint !== base.fingerprint) {
        const [trained, loaded] = distinctPrefixes(calibration.baseFingerprint, base.fingerprint);
        throw new CalibrationExpansionError(
            "base-mismatch",
            `${calibration.file.path} was trained for base ${trained}, but the loaded model ${base.name} is ${loaded}.`,
        );
    }
    if (calibration.architecture !== base.architecture)
        throw new CalibrationExpansionError(
            "architecture-mismatch",
            `${calibration.file.path} is for architecture ${quote(calibration.architecture)}, the base is ${quote(base.architecture)}.`,
        );
    if (adapters.length !== calibration.adapters.length)
        throw new CalibrationExpansionError(
            "adapter-mismatch",
            `${calibration.file.path} merges ${calibration.adapters.length} adapters, ${adapters.length} were given.`,
        );
    calibration.adapters.forEach((expected, index) => {
        const given = adapters[index];
        if (given?.sha256 !== expected.sha256) {
            const [wanted, found] = distinctPrefixes(expected.sha256, given?.sha256 ?? "");
            throw new CalibrationExpansionError(
                "adapter-mismatch",
                `adapter ${index} (${quote(expected.id)}) of ${calibration.file.path} must have sha256 ` +
                    `${wanted}, the file given (${given?.ggufPath}) has ${found}.`,
            );
        }
    });
}

interface Expansion {
    readonly rank: number;
    readonly tensors: GgufTensorToWrite[];
}

/** The base weight `blk.<l>.<m>.weight` as (n_in, n_out), for every layer that has it. */
function targets(base: BaseModelStructure, moduleType: ModuleType): {name: string; nIn: number; nOut: number}[] {
    const found: {layer: number; name: string; nIn: number; nOut: number}[] = [];
    for (const [name, ne] of base.tensors) {
        const layer = /^blk\.(\d+)\./.exec(name)?.[1];
        if (layer === undefined || name !== baseTensorName(Number(layer), moduleType)) continue;
        const [nIn, nOut, ...rest] = ne;
        if (nIn === undefined || nOut === undefined || rest.some((n) => n !== 1))
            throw new CalibrationExpansionError("shape-mismatch", `base tensor ${name} is not a matrix: ne {${ne}}.`);
        found.push({layer: Number(layer), name, nIn, nOut});
    }
    if (found.length === 0)
        throw new CalibrationExpansionError("no-target", `the base model has no blk.*.${moduleType}.weight tensors.`);
    return found.sort((a, b) => a.layer - b.layer);
}

function loraPair(baseName: string, a: Float32Array, b: Float32Array, nIn: number, nOut: number, rank: number) {
    // The expanded pair is what llama.cpp runs (at scale 1, alpha = r): the same limits as any
    // adapter apply. LC's A is a sum over the adapters' A's, so only here is its strength known.
    const bad = Math.max(firstValueOutOfRange(a), firstValueOutOfRange(b));
    if (bad >= 0)
        throw new CalibrationExpansionError(
            "too-strong",
            `the expanded calibration for ${baseName} holds a value beyond ±${LORA_VALUE_LIMIT}; it would drive the model to Inf/NaN.`,
        );
    const strength = frobeniusNorm(a) * frobeniusNorm(b);
    if (!(strength <= LORA_STRENGTH_LIMIT))
        throw new CalibrationExpansionError(
            "too-strong",
            `the expanded calibration for ${baseName} has strength ‖A‖ * ‖B‖ = ${strength.toPrecision(3)}, above the limit ` +
                `${LORA_STRENGTH_LIMIT}: a change this large drives the model to Inf/NaN and empty text.`,
        );
    return [
        {name: `${baseName}.lora_a`, ne: [nIn, rank], type: "F32", data: a},
        {name: `${baseName}.lora_b`, ne: [rank, nOut], type: "F32", data: b},
    ] satisfies GgufTensorToWrite[];
}

async function expandLcWithAdapters(
    parameters: LcParameters,
    adapters: readonly AdapterFileRef[],
    base: BaseModelStructure,
): Promise<Expansion> {
    const files: GgufTensorFile[] = [];
    try {
        for (const adapter of adapters) files.push(await GgufTensorFile.open(await readGgufHeader(adapter.ggufPath)));
        return await expandLc(parameters, files, base);
    } finally {
        await Promise.all(files.map((file) => file.close()));
    }
}

async function expandLc(
    parameters: LcParameters,
    adapters: readonly GgufTensorFile[],
    base: BaseModelStructure,
): Promise<Expansion> {
    const rank = paddedRank(1);
    const tensors: GgufTensorToWrite[] = [];
    for (const moduleType of MODULE_TYPES) {
        const p = parameters.p.get(moduleType);
        if (p === undefined) continue;
        for (const target of targets(base, moduleType)) {
            if (p.length !== target.nOut)
                throw new CalibrationExpansionError(
                    "shape-mismatch",
                    `cal.${moduleType}.p has ${p.length} entries, ${target.name} has n_out ${target.nOut}.`,
                );
            const rowSum = await summedLoraARows(adapters, target.name, target.nIn);
            // No adapter touches this weight: 1^T A_cat x = 0, so the delta is exactly zero and
            // the pair would only cost two matmuls per token.
            if (rowSum === null) continue;
            const a = new Float32Array(rank * target.nIn);
            a.set(rowSum);
            const b = new Float32Array(target.nOut * rank);
            for (let out = 0; out < target.nOut; out++) b[out * rank] = p[out] as number;
            tensors.push(...loraPair(target.name, a, b, target.nIn, target.nOut, rank));
        }
    }
    return {rank, tensors};
}

/** Sum over all adapters and all their rank rows of `lora_a` for one base weight, or null if none has it. */
async function summedLoraARows(
    adapters: readonly GgufTensorFile[],
    baseName: string,
    nIn: number,
): Promise<Float64Array | null> {
    const sum = new Float64Array(nIn);
    let touched = false;
    for (const adapter of adapters) {
        const name = `${baseName}.lora_a`;
        const info = adapter.header.tensors.find((tensor) => tensor.name === name);
        if (info === undefined) continue;
        const [rowLength, rows, ...rest] = info.ne;
        if (rowLength !== nIn || rows === undefined || rest.some((n) => n !== 1))
            throw new CalibrationExpansionError(
                "shape-mismatch",
                `${adapter.header.filePath}: ${name} has ne {${info.ne}}, expected {${nIn}, r}.`,
            );
        const values = await adapter.readF32(info);
        for (let row = 0; row < rows; row++)
            for (let column = 0; column < nIn; column++)
                sum[column] = (sum[column] as number) + (values[row * nIn + column] as number);
        touched = true;
    }
    return touched ? sum : null;
}

function expandLcpp(parameters: LcppParameters, base: BaseModelStructure): Expansion {
    const rank = paddedRank(parameters.rank);
    const tensors: GgufTensorToWrite[] = [];
    for (const moduleType of MODULE_TYPES) {
        const p1 = parameters.p1.get(moduleType);
        const p2 = parameters.p2.get(moduleType);
        if (p1 === undefined || p2 === undefined) continue;
        const nIn = p1.length / parameters.rank;
        const nOut = p2.length / parameters.rank;
        // Padded once and shared by every layer: the values are identical by definition.
        const a = new Float32Array(rank * nIn);
        a.set(p1);
        const b = new Float32Array(nOut * rank);
        for (let out = 0; out < nOut; out++)
            for (let j = 0; j < parameters.rank; j++) b[out * rank + j] = p2[out * parameters.rank + j] as number;
        for (const target of targets(base, moduleType)) {
            if (target.nIn !== nIn || target.nOut !== nOut)
                throw new CalibrationExpansionError(
                    "shape-mismatch",
                    `cal.${moduleType} maps ${nIn} -> ${nOut}, ${target.name} maps ${target.nIn} -> ${target.nOut}.`,
                );
            tensors.push(...loraPair(target.name, a, b, nIn, nOut, rank));
        }
    }
    return {rank, tensors};
}
