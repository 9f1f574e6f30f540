// Crafted GGUF files for the tests and the benchmark: a tiny base-model-like GGUF and valid
// random LoRA adapter directories for any base structure. Everything is seeded, so a run builds
// the same bytes every time. The builders return plain mutable objects, so a test can break exactly one thing
// before writing (see test/unit/adapterValidation.test.ts).

import {mkdir, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {ADAPTER_MANIFEST_FILE, type AdapterTargetModule} from "../engine/adapters/manifest";
import {MODULE_TYPES, type ModuleType} from "../engine/calibrations/moduleTypes";
import {sha256File} from "../engine/files/sha256";
import {
    type GgufTensorToWrite,
    type GgufValue,
    ggufF32,
    ggufI32Array,
    ggufString,
    ggufStringArray,
    ggufU32,
    readGgufHeader,
    writeGguf,
} from "../engine/gguf";
import {type BaseModelStructure, describeBaseModel} from "../engine/model/fingerprint";
import {randomVector, seededRandom} from "./seededRandom";

/** A GgufToWrite whose arrays a test may edit before writing. */
export interface MutableGguf {
    metadata: [string, GgufValue][];
    tensors: GgufTensorToWrite[];
}

// ---- Tiny base model ----------------------------------------------------------------------

export interface TinyBaseOptions {
    architecture?: string;
    name?: string;
    layers?: number;
    nEmbd?: number;
    nFf?: number;
    nHead?: number;
    nKvHead?: number;
    headDim?: number;
    /** Defaults to a few special tokens plus printable ASCII (100 tokens). */
    tokens?: readonly string[];
    seed?: number;
    tensorType?: "F32" | "F16";
}

export const TINY_BASE_DEFAULTS = {
    architecture: "llama",
    name: "Tiny Test Llama",
    layers: 3,
    nEmbd: 32,
    nFf: 48,
    nHead: 4,
    nKvHead: 2,
    headDim: 8,
} as const;

export function tinyVocabulary(): string[] {
    const tokens = ["<unk>", "<s>", "</s>", "<end_of_turn>"];
    for (let code = 0x20; code < 0x7e; code++) tokens.push(String.fromCharCode(code));
    return tokens;
}

/** Base tensor names and shapes (ne, innermost first) of the tiny model. */
export function tinyBaseTensorShapes(options: TinyBaseOptions = {}): Map<string, number[]> {
    const o = {...TINY_BASE_DEFAULTS, ...options};
    const nVocab = (options.tokens ?? tinyVocabulary()).length;
    const qDim = o.nHead * o.headDim;
    const kvDim = o.nKvHead * o.headDim;
    const shapes = new Map<string, number[]>([["token_embd.weight", [o.nEmbd, nVocab]]]);
    for (let layer = 0; layer < o.layers; layer++) {
        const blk = `blk.${layer}`;
        shapes.set(`${blk}.attn_norm.weight`, [o.nEmbd]);
        shapes.set(`${blk}.attn_q.weight`, [o.nEmbd, qDim]);
        shapes.set(`${blk}.attn_k.weight`, [o.nEmbd, kvDim]);
        shapes.set(`${blk}.attn_v.weight`, [o.nEmbd, kvDim]);
        shapes.set(`${blk}.attn_output.weight`, [qDim, o.nEmbd]);
        shapes.set(`${blk}.ffn_norm.weight`, [o.nEmbd]);
        shapes.set(`${blk}.ffn_gate.weight`, [o.nEmbd, o.nFf]);
        shapes.set(`${blk}.ffn_up.weight`, [o.nEmbd, o.nFf]);
        shapes.set(`${blk}.ffn_down.weight`, [o.nFf, o.nEmbd]);
    }
    shapes.set("output_norm.weight", [o.nEmbd]);
    shapes.set("output.weight", [o.nEmbd, nVocab]);
    return shapes;
}

export function tinyBaseGguf(options: TinyBaseOptions = {}): MutableGguf {
    const o = {...TINY_BASE_DEFAULTS, ...options};
    const tokens = [...(options.tokens ?? tinyVocabulary())];
    const arch = o.architecture;
    const random = seededRandom(options.seed ?? 1234);
    const tensorType = options.tensorType ?? "F32";
    const tensors: GgufTensorToWrite[] = [];
    for (const [name, ne] of tinyBaseTensorShapes(options)) {
        const count = ne.reduce((a, b) => a * b, 1);
        // Norm weights near 1 and small matrices keep a forward pass numerically tame.
        const data = ne.length === 1 ? new Float32Array(count).fill(1) : randomVector(count, 0.05, random);
        tensors.push({name, ne, type: ne.length === 1 ? "F32" : tensorType, data});
    }
    return {
        metadata: [
            ["general.architecture", ggufString(arch)],
            ["general.type", ggufString("model")],
            ["general.name", ggufString(o.name)],
            [`${arch}.context_length`, ggufU32(256)],
            [`${arch}.embedding_length`, ggufU32(o.nEmbd)],
            [`${arch}.block_count`, ggufU32(o.layers)],
            [`${arch}.feed_forward_length`, ggufU32(o.nFf)],
            [`${arch}.attention.head_count`, ggufU32(o.nHead)],
            [`${arch}.attention.head_count_kv`, ggufU32(o.nKvHead)],
            [`${arch}.rope.dimension_count`, ggufU32(o.headDim)],
            [`${arch}.attention.layer_norm_rms_epsilon`, ggufF32(1e-5)],
            ["tokenizer.ggml.model", ggufString("llama")],
            ["tokenizer.ggml.tokens", ggufStringArray(tokens)],
            ["tokenizer.ggml.token_type", ggufI32Array(tokens.map((_, i) => (i < 4 ? 3 : 1)))],
            ["tokenizer.ggml.bos_token_id", ggufU32(1)],
            ["tokenizer.ggml.eos_token_id", ggufU32(2)],
        ],
        tensors,
    };
}

export interface TinyBase {
    filePath: string;
    base: BaseModelStructure;
}

/** Writes the tiny base model and returns its structure (fingerprint included), as the engine sees it. */
export async function writeTinyBaseModel(filePath: string, options: TinyBaseOptions = {}): Promise<TinyBase> {
    await writeGguf(filePath, tinyBaseGguf(options));
    return {filePath, base: describeBaseModel(await readGgufHeader(filePath))};
}

// ---- LoRA adapters ------------------------------------------------------------------------

export interface CraftAdapterOptions {
    /** Default: derived from the task, e.g. "test.summarize-translate-fr". */
    id?: string;
    task?: string;
    rank?: number;
    /** Default: 2 * rank. */
    alpha?: number;
    /** Default: all seven linear module types. */
    modules?: readonly AdapterTargetModule[];
    /** Default: every layer of the base. */
    layers?: readonly number[];
    seed?: number;
    /** Standard deviation of the random A and B values. Default 0.02. */
    scale?: number;
    tensorType?: "F32" | "F16";
    file?: string;
}

export const ALL_LINEAR_MODULES: readonly AdapterTargetModule[] = MODULE_TYPES;

export function layerCount(base: BaseModelStructure): number {
    let count = 0;
    for (const name of base.tensors.keys()) {
        const match = /^blk\.(\d+)\./.exec(name);
        if (match) count = Math.max(count, Number(match[1]) + 1);
    }
    return count;
}

function baseTensorsFor(module: AdapterTargetModule, layers: readonly number[]): string[] {
    if (module === "token_embd" || module === "output") return [`${module}.weight`];
    return layers.map((layer) => `blk.${layer}.${module}.weight`);
}

/** An adapter GGUF in the layout llama.cpp loads (docs/formats.md section 2). */
export function adapterGguf(base: BaseModelStructure, options: CraftAdapterOptions = {}): MutableGguf {
    const rank = options.rank ?? 16;
    const alpha = options.alpha ?? 2 * rank;
    const modules = options.modules ?? ALL_LINEAR_MODULES;
    const layers = options.layers ?? Array.from({length: layerCount(base)}, (_, i) => i);
    const scale = options.scale ?? 0.02;
    const type = options.tensorType ?? "F32";
    const random = seededRandom(options.seed ?? 1);
    const tensors: GgufTensorToWrite[] = [];
    for (const module of modules) {
        for (const baseName of baseTensorsFor(module, layers)) {
            const ne = base.tensors.get(baseName);
            if (ne === undefined || ne.length !== 2)
                throw new Error(`craftGguf: base "${base.name}" has no 2-D tensor "${baseName}"`);
            const [nIn = 0, nOut = 0] = ne;
            // token_embd is special in llama.cpp: A {r, n_vocab}, B {r, n_embd}.
            const aNe = module === "token_embd" ? [rank, nOut] : [nIn, rank];
            const bNe = module === "token_embd" ? [rank, nIn] : [rank, nOut];
            const count = (dims: number[]) => dims.reduce((x, y) => x * y, 1);
            tensors.push({name: `${baseName}.lora_a`, ne: aNe, type, data: randomVector(count(aNe), scale, random)});
            tensors.push({name: `${baseName}.lora_b`, ne: bNe, type, data: randomVector(count(bNe), scale, random)});
        }
    }
    return {
        metadata: [
            ["general.architecture", ggufString(base.architecture)],
            ["general.type", ggufString("adapter")],
            ["adapter.type", ggufString("lora")],
            ["adapter.lora.alpha", ggufF32(alpha)],
        ],
        tensors,
    };
}

export function defaultAdapterId(task: string): string {
    return `test.${task.replaceAll(":", "-").replaceAll("+", "-").replaceAll(",", "-")}`;
}

/** A manifest.json object (docs/formats.md section 2) matching `adapterGguf(base, options)`, sha256 filled in. */
export function adapterManifest(
    base: BaseModelStructure,
    options: CraftAdapterOptions,
    sha256: string,
): Record<string, unknown> {
    const task = options.task ?? "summarize";
    const rank = options.rank ?? 16;
    return {
        formatVersion: 1,
        id: options.id ?? defaultAdapterId(task),
        task,
        promptTemplate: "<start_of_turn>user\nDo the task:\n\n{input}<end_of_turn>\n<start_of_turn>model\n",
        stopStrings: ["<end_of_turn>"],
        base: {fingerprint: base.fingerprint, name: base.name},
        rank,
        alpha: options.alpha ?? 2 * rank,
        targetModules: [...(options.modules ?? ALL_LINEAR_MODULES)],
        file: options.file ?? "adapter.gguf",
        sha256,
        licence: "test only",
        training: {crafted: true, seed: options.seed ?? 1},
    };
}

export interface CraftedAdapter {
    dir: string;
    ggufPath: string;
    manifestPath: string;
    sha256: string;
    manifest: Record<string, unknown>;
}

/** The streamed file hash the engine itself uses. */
export const sha256Hex = sha256File;

/**
 * Writes `gguf` and a manifest into `dir`. `manifest` gets the real sha256 of the written file
 * unless it already sets one (pass a wrong one to test the hash check).
 */
export async function writeAdapterDir(
    dir: string,
    gguf: MutableGguf,
    manifest: Record<string, unknown>,
): Promise<CraftedAdapter> {
    await mkdir(dir, {recursive: true});
    const file = typeof manifest.file === "string" ? manifest.file : "adapter.gguf";
    const ggufPath = join(dir, file);
    await writeGguf(ggufPath, gguf);
    const sha256 = await sha256Hex(ggufPath);
    const finalManifest = {...manifest, sha256: manifest.sha256 ?? sha256};
    const manifestPath = join(dir, ADAPTER_MANIFEST_FILE);
    await writeFile(manifestPath, `${JSON.stringify(finalManifest, null, 2)}\n`);
    return {dir, ggufPath, manifestPath, sha256, manifest: finalManifest};
}

export interface CraftAdapterEdits {
    /** Edit the GGUF before it is written. */
    editGguf?: (gguf: MutableGguf) => void;
    /** Fields merged over the generated manifest (`undefined` deletes a field). */
    manifest?: Record<string, unknown>;
}

/** A valid random adapter for `base` in `dir` (created), unless `edits` break it on purpose. */
export async function craftAdapter(
    dir: string,
    base: BaseModelStructure,
    options: CraftAdapterOptions = {},
    edits: CraftAdapterEdits = {},
): Promise<CraftedAdapter> {
    const gguf = adapterGguf(base, options);
    edits.editGguf?.(gguf);
    const manifest: Record<string, unknown> = {...adapterManifest(base, options, ""), sha256: undefined};
    for (const [key, value] of Object.entries(edits.manifest ?? {})) manifest[key] = value;
    for (const key of Object.keys(manifest)) if (manifest[key] === undefined) delete manifest[key];
    return writeAdapterDir(dir, gguf, manifest);
}

/** Random LC++ parameters for every module type of `base` (tests and e2e fixtures). */
export function randomLcppParameters(
    base: BaseModelStructure,
    rank: number,
    seed: number,
    scale: number,
): {kind: "lc++"; rank: number; p1: Map<ModuleType, Float32Array>; p2: Map<ModuleType, Float32Array>} {
    const random = seededRandom(seed);
    const p1 = new Map<ModuleType, Float32Array>();
    const p2 = new Map<ModuleType, Float32Array>();
    for (const module of MODULE_TYPES) {
        const [nIn = 0, nOut = 0] = base.tensors.get(`blk.0.${module}.weight`) ?? [];
        p1.set(module, randomVector(rank * nIn, scale, random));
        p2.set(module, randomVector(nOut * rank, scale, random));
    }
    return {kind: "lc++", rank, p1, p2};
}
