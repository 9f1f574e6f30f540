// Checks a task adapter directory against a base model before llama.cpp ever sees it: a bad
// adapter only gives "Failed to initialize LoRA adapter" there, with the reason in its log.
// Every rule in docs/formats.md section 2 (and runtime-facts.md) has its own error code.

import {readFile, stat} from "node:fs/promises";
import {join, resolve} from "node:path";
import type {FileVersion} from "../files/fileVersion";
import {type FileHasher, hashFile} from "../files/sha256";
import {
    GgmlType,
    GgufFormatError,
    type GgufHeader,
    GgufTensorFile,
    type GgufTensorInfo,
    type GgufValue,
    GgufValueType,
    ggmlTypeName,
    ggufValueTypeName,
    metaOptionalNumber,
    metaOptionalString,
    readGgufHeader,
} from "../gguf";
import {distinctPrefixes, quote, show} from "../messages/quote";
import type {BaseModelStructure} from "../model/fingerprint";
import {type AdapterValidationCode, AdapterValidationError} from "./errors";
import {firstValueOutOfRange, frobeniusNorm, LORA_STRENGTH_LIMIT, LORA_VALUE_LIMIT} from "./limits";
import {ADAPTER_MANIFEST_FILE, type AdapterManifest, type AdapterTargetModule, parseAdapterManifest} from "./manifest";

export interface ValidatedAdapter {
    readonly manifest: AdapterManifest;
    /** Absolute adapter directory. */
    readonly dir: string;
    readonly manifestPath: string;
    /** The manifest exactly as read and parsed (an install writes these bytes). */
    readonly manifestText: string;
    /** Absolute path of the adapter GGUF, what llama.cpp is given. */
    readonly ggufPath: string;
    readonly sha256: string;
    /** The version of the adapter file the sha256 is of (files/fileVersion.ts). */
    readonly version: FileVersion;
    readonly header: GgufHeader;
    readonly rank: number;
    readonly alpha: number;
    /** Modules the file holds LoRA pairs for, in manifest order. */
    readonly targetModules: readonly AdapterTargetModule[];
    /** Layers (`blk.N`) the file touches, ascending. */
    readonly layers: readonly number[];
    /** Acceptable but worth knowing, e.g. a rank that misses llama.cpp's fast path. */
    readonly warnings: readonly string[];
}

const LORA_SUFFIXES = [".lora_a", ".lora_b"] as const;

/**
 * The metadata llama.cpp's llama_adapter_lora_init reads (src/llama-adapter.cpp), each with the
 * only type it accepts: it reads them with gguf_get_val_str / gguf_get_val_f32, which abort the
 * whole process (GGML_ASSERT) on any other type, e.g. alpha stored as FLOAT64 or UINT64.
 * general.alignment (UINT32) is checked by the GGUF reader for every file.
 */
const LLAMA_ADAPTER_KEYS: readonly {readonly key: string; readonly type: GgufValueType}[] = [
    {key: "general.type", type: GgufValueType.STRING},
    {key: "general.architecture", type: GgufValueType.STRING},
    {key: "adapter.type", type: GgufValueType.STRING},
    {key: "adapter.lora.alpha", type: GgufValueType.FLOAT32},
];
/** Activated LoRA: llama.cpp applies it only after these tokens appear, which the engine never arranges. */
const ALORA_KEY = "adapter.alora.invocation_tokens";
const LAYER_TENSOR = /^blk\.(\d+)\.([A-Za-z0-9_]+)\.weight$/;
/** llama.cpp's fast path for B(Ax) needs K = rank to be a multiple of this (runtime-facts.md). */
const FAST_RANK_MULTIPLE = 16;

/** The module type a base tensor belongs to: `blk.3.attn_q.weight` -> attn_q, `token_embd.weight` -> token_embd. */
export function moduleOfBaseTensor(name: string): string {
    const layerMatch = LAYER_TENSOR.exec(name);
    if (layerMatch) return layerMatch[2] ?? name;
    return name.endsWith(".weight") ? name.slice(0, -".weight".length) : name;
}

function layerOfBaseTensor(name: string): number | undefined {
    const layerMatch = LAYER_TENSOR.exec(name);
    return layerMatch ? Number(layerMatch[1]) : undefined;
}

const shape = (ne: readonly number[]) => `{${ne.join(", ")}}`;

interface LoraPair {
    baseName: string;
    a?: GgufTensorInfo;
    b?: GgufTensorInfo;
}

/** Every rule, hash included; `hash` is how the adapter file is hashed (the store's, so tests can count). */
export async function validateAdapter(
    dir: string,
    base: BaseModelStructure,
    hash: FileHasher = hashFile,
): Promise<ValidatedAdapter> {
    const adapterDir = resolve(dir);
    const manifestPath = join(adapterDir, ADAPTER_MANIFEST_FILE);
    const {manifest, text: manifestText} = await readManifest(manifestPath);
    const ggufPath = join(adapterDir, manifest.file);
    const reject = (code: AdapterValidationCode, problem: string): never => {
        throw new AdapterValidationError(code, `${ggufPath}: ${problem}`);
    };

    const fileStat = await stat(ggufPath).catch(() => undefined);
    if (fileStat === undefined || !fileStat.isFile())
        throw new AdapterValidationError(
            "file-missing",
            `${ggufPath}: the adapter file named by ${manifestPath} ("file": ${quote(manifest.file)}) does not exist`,
        );

    const {sha256, version} = await hash(ggufPath);
    if (sha256 !== manifest.sha256)
        reject("sha256-mismatch", `sha256 is ${sha256} but the manifest says ${manifest.sha256} (corrupt or replaced)`);

    const header = await readAdapterHeader(ggufPath);
    checkMetadataTypes(header, reject);
    const meta = (read: () => string | number | undefined, key: string) => {
        try {
            return read();
        } catch (error) {
            if (error instanceof GgufFormatError) return reject("gguf-invalid", `metadata "${key}": ${error.message}`);
            throw error;
        }
    };

    const generalType = meta(() => metaOptionalString(header, "general.type"), "general.type");
    if (generalType !== "adapter")
        reject(
            "not-adapter",
            `general.type is ${generalType === undefined ? "missing" : show(generalType)}, expected "adapter"`,
        );
    const adapterType = meta(() => metaOptionalString(header, "adapter.type"), "adapter.type");
    if (adapterType !== "lora")
        reject(
            "not-lora",
            `adapter.type is ${adapterType === undefined ? "missing" : show(adapterType)}, expected "lora"`,
        );
    const architecture = meta(() => metaOptionalString(header, "general.architecture"), "general.architecture");
    if (architecture !== base.architecture)
        reject(
            "architecture-mismatch",
            `general.architecture is ${architecture === undefined ? "missing" : show(architecture)}, but the base model ${quote(base.name)} is ${quote(base.architecture)}`,
        );
    if (manifest.base.fingerprint !== base.fingerprint) {
        const [made, loaded] = distinctPrefixes(manifest.base.fingerprint, base.fingerprint);
        reject(
            "fingerprint-mismatch",
            `the manifest was made for base ${quote(manifest.base.name)} (fingerprint ${made}), ` +
                `but the base model ${quote(base.name)} has fingerprint ${loaded}`,
        );
    }

    const pairs = pairLoraTensors(header, base, reject);
    const rank = checkShapesAndRank(pairs, base, manifest, reject);

    const alpha = meta(() => metaOptionalNumber(header, "adapter.lora.alpha"), "adapter.lora.alpha");
    // The file stores alpha as float32: compare at that precision.
    if (alpha === undefined || Math.fround(Number(alpha)) !== Math.fround(manifest.alpha))
        reject(
            "alpha-mismatch",
            `adapter.lora.alpha is ${alpha ?? "missing"}, but the manifest says alpha ${manifest.alpha}`,
        );

    const targetModules = checkTargetModules(pairs, manifest, reject);
    await checkValues(header, pairs, Number(alpha) / rank, reject);

    const layers = [...new Set(pairs.map((pair) => layerOfBaseTensor(pair.baseName)))]
        .filter((layer): layer is number => layer !== undefined)
        .sort((x, y) => x - y);
    const warnings: string[] = [];
    if (rank % FAST_RANK_MULTIPLE !== 0)
        warnings.push(`rank ${rank} is not a multiple of ${FAST_RANK_MULTIPLE}: llama.cpp runs it on a slower path`);

    return {
        manifest,
        dir: adapterDir,
        manifestPath,
        manifestText,
        ggufPath,
        sha256,
        version,
        header,
        rank,
        alpha: Number(alpha),
        targetModules,
        layers,
        warnings,
    };
}

async function readManifest(manifestPath: string): Promise<{manifest: AdapterManifest; text: string}> {
    let text: string;
    try {
        text = await readFile(manifestPath, "utf8");
    } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? String(error);
        throw new AdapterValidationError("manifest-missing", `${manifestPath}: cannot read the manifest (${reason})`);
    }
    let json: unknown;
    try {
        // A UTF-8 byte order mark (Windows editors add one) is not part of the JSON.
        json = JSON.parse(text.startsWith("\ufeff") ? text.slice(1) : text);
    } catch (error) {
        throw new AdapterValidationError(
            "manifest-unparseable",
            `${manifestPath}: not valid JSON (${(error as Error).message})`,
        );
    }
    return {manifest: parseAdapterManifest(json, manifestPath), text};
}

async function readAdapterHeader(ggufPath: string): Promise<GgufHeader> {
    try {
        return await readGgufHeader(ggufPath);
    } catch (error) {
        if (!(error instanceof GgufFormatError)) throw error;
        const code: AdapterValidationCode =
            error.problem === "not-gguf"
                ? "not-gguf"
                : error.problem === "truncated"
                  ? "gguf-truncated"
                  : "gguf-invalid";
        throw new AdapterValidationError(code, error.message);
    }
}

type Reject = (code: AdapterValidationCode, problem: string) => never;

function describeType(entry: GgufValue): string {
    return entry.type === GgufValueType.ARRAY
        ? `ARRAY of ${ggufValueTypeName(entry.itemType)}`
        : ggufValueTypeName(entry.type);
}

/** Every key llama.cpp reads has exactly the type it reads it as; aLoRA is refused. */
function checkMetadataTypes(header: GgufHeader, reject: Reject): void {
    for (const {key, type} of LLAMA_ADAPTER_KEYS) {
        const entry = header.metadata.get(key);
        if (entry !== undefined && entry.type !== type)
            reject(
                "metadata-type",
                `metadata "${key}" is ${describeType(entry)}, but llama.cpp reads it only as ${ggufValueTypeName(type)} ` +
                    "(any other type aborts the engine); re-export the adapter with the right type",
            );
    }
    if (header.metadata.has(ALORA_KEY))
        reject(
            "metadata-type",
            `metadata "${ALORA_KEY}" makes this an activated LoRA (aLoRA), which the engine does not support`,
        );
}

/** Groups `<base>.lora_a` / `<base>.lora_b` tensors by base tensor, rejecting anything else. */
function pairLoraTensors(header: GgufHeader, base: BaseModelStructure, reject: Reject): LoraPair[] {
    const pairs = new Map<string, LoraPair>();
    for (const tensor of header.tensors) {
        if (tensor.type !== GgmlType.F32 && tensor.type !== GgmlType.F16)
            reject(
                "tensor-type-unsupported",
                `tensor ${quote(tensor.name)} is ${ggmlTypeName(tensor.type)}; adapter tensors must be F32 or F16`,
            );
        const suffix = LORA_SUFFIXES.find((s) => tensor.name.endsWith(s));
        if (suffix === undefined)
            reject(
                "bad-tensor-suffix",
                `tensor ${quote(tensor.name)} is not "<base tensor>.lora_a" or "<base tensor>.lora_b"; llama.cpp refuses anything else`,
            );
        const baseName = tensor.name.slice(0, -(suffix as string).length);
        if (!base.tensors.has(baseName))
            reject(
                "unknown-base-tensor",
                `tensor ${quote(tensor.name)} adapts ${quote(baseName)}, which the base model ${quote(base.name)} does not have`,
            );
        const pair = pairs.get(baseName) ?? {baseName};
        if (suffix === ".lora_a") pair.a = tensor;
        else pair.b = tensor;
        pairs.set(baseName, pair);
    }
    for (const pair of pairs.values()) {
        if (pair.a === undefined || pair.b === undefined) {
            const [has, lacks] = pair.a === undefined ? ["lora_b", "lora_a"] : ["lora_a", "lora_b"];
            reject(
                "missing-lora-pair",
                `${quote(`${pair.baseName}.${has}`)} has no ${quote(`${pair.baseName}.${lacks}`)}; both halves are required`,
            );
        }
    }
    return [...pairs.values()];
}

/** Checks each pair against its base tensor and returns the one rank they all share. */
function checkShapesAndRank(
    pairs: readonly LoraPair[],
    base: BaseModelStructure,
    manifest: AdapterManifest,
    reject: Reject,
): number {
    let firstRank: {rank: number; tensor: string} | undefined;
    for (const {baseName, a, b} of pairs) {
        if (a === undefined || b === undefined) continue; // pairLoraTensors rejected these
        const baseNe = base.tensors.get(baseName) ?? [];
        if (baseNe.length !== 2)
            reject(
                "shape-mismatch",
                `${quote(baseName)} has shape ${shape(baseNe)}; LoRA needs a 2-D weight (llama.cpp ignores it on norms)`,
            );
        const [nIn = 0, nOut = 0] = baseNe;
        // token_embd is looked up by row, so llama.cpp wants its A transposed: A {r, n_vocab}, B {r, n_embd}.
        const isEmbedding = baseName === "token_embd.weight";
        const expectedA = isEmbedding ? ["r", nOut] : [nIn, "r"];
        const expectedB = isEmbedding ? ["r", nIn] : ["r", nOut];
        const rankA = isEmbedding ? a.ne[0] : a.ne[1];
        const rankB = b.ne[0];
        const fits = (ne: readonly number[], expected: readonly (number | string)[]) =>
            ne.length === 2 && expected.every((n, i) => n === "r" || ne[i] === n);
        if (!fits(a.ne, expectedA) || !fits(b.ne, expectedB) || rankA !== rankB)
            reject(
                "shape-mismatch",
                `${quote(baseName)} has shape ${shape(baseNe)}, so ${quote(a.name)} must be {${expectedA.join(", ")}} and ` +
                    `${quote(b.name)} {${expectedB.join(", ")}} with the same r; got ${shape(a.ne)} and ${shape(b.ne)}`,
            );
        const rank = rankA ?? 0;
        if (firstRank === undefined) firstRank = {rank, tensor: a.name};
        else if (rank !== firstRank.rank)
            reject(
                "rank-inconsistent",
                `${quote(a.name)} has rank ${rank} but ${quote(firstRank.tensor)} has rank ${firstRank.rank}; one adapter has one rank`,
            );
    }
    if (firstRank !== undefined && firstRank.rank !== manifest.rank)
        reject("rank-mismatch", `the tensors have rank ${firstRank.rank}, but the manifest says rank ${manifest.rank}`);
    return firstRank?.rank ?? manifest.rank;
}

function checkTargetModules(
    pairs: readonly LoraPair[],
    manifest: AdapterManifest,
    reject: Reject,
): AdapterTargetModule[] {
    const inFile = new Set(pairs.map((pair) => moduleOfBaseTensor(pair.baseName)));
    const declared = new Set<string>(manifest.targetModules);
    const undeclared = [...inFile].filter((module) => !declared.has(module)).sort();
    const absent = manifest.targetModules.filter((module) => !inFile.has(module));
    if (undeclared.length > 0 || absent.length > 0) {
        const parts = [
            undeclared.length > 0 ? `the file adapts ${undeclared.join(", ")}, which the manifest does not list` : "",
            absent.length > 0 ? `the manifest lists ${absent.join(", ")}, which the file does not adapt` : "",
        ];
        reject("target-modules-mismatch", `targetModules disagree: ${parts.filter(Boolean).join("; ")}`);
    }
    return [...manifest.targetModules];
}

/**
 * Every value is finite and within ±LORA_VALUE_LIMIT, and every pair's strength
 * (alpha / r) * ‖A‖ * ‖B‖ is within LORA_STRENGTH_LIMIT (limits.ts says why).
 */
async function checkValues(
    header: GgufHeader,
    pairs: readonly LoraPair[],
    alphaOverRank: number,
    reject: Reject,
): Promise<void> {
    const file = await GgufTensorFile.open(header);
    try {
        const norms = new Map<string, number>();
        for (const tensor of header.tensors) {
            const values = await file.readF32(tensor);
            const bad = firstValueOutOfRange(values);
            if (bad >= 0) {
                const value = values[bad] ?? Number.NaN;
                const where = `tensor ${quote(tensor.name)} holds ${value} at index ${bad} (ne ${shape(tensor.ne)})`;
                if (!Number.isFinite(value)) reject("non-finite-value", `${where}; all values must be finite`);
                reject(
                    "value-out-of-range",
                    `${where}; values must lie within ±${LORA_VALUE_LIMIT} (trained adapters stay below 0.1): ` +
                        "llama.cpp would compute Inf/NaN and answer with empty text",
                );
            }
            norms.set(tensor.name, frobeniusNorm(values));
        }
        for (const {baseName, a, b} of pairs) {
            if (a === undefined || b === undefined) continue;
            const strength = alphaOverRank * (norms.get(a.name) ?? 0) * (norms.get(b.name) ?? 0);
            if (!(strength <= LORA_STRENGTH_LIMIT))
                reject(
                    "too-strong",
                    `the LoRA pair for ${quote(baseName)} has strength (alpha / r) * ‖A‖ * ‖B‖ = ${strength.toPrecision(3)}, ` +
                        `above the limit ${LORA_STRENGTH_LIMIT} (trained adapters stay below 3): ` +
                        "a change this large drives the model to Inf/NaN and empty text",
                );
        }
    } finally {
        await file.close();
    }
}
