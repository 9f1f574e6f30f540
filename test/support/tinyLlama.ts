// A tiny llama-architecture model and random LoRA adapters for exactness tests: F32 weights from
// a seeded generator (so every run builds the same bytes), a byte-level gpt2 tokenizer that
// llama.cpp accepts, and the in-memory values so a reference forward pass can use them directly.

import {randomVector, seededRandom} from "../../craft/seededRandom";
import {ggufBool, ggufF32, ggufI32Array, ggufString, ggufStringArray, ggufU32, writeGguf} from "../../engine/gguf";

export interface TinyLlamaConfig {
    readonly nEmbd: number;
    readonly nLayer: number;
    readonly nHead: number;
    readonly nHeadKv: number;
    readonly nFf: number;
    readonly contextLength: number;
    readonly rmsEps: number;
    readonly ropeFreqBase: number;
}

export const TINY_LLAMA_CONFIG: TinyLlamaConfig = {
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 2,
    nFf: 128,
    contextLength: 512,
    rmsEps: 1e-5,
    ropeFreqBase: 10000,
};

/** A weight as GGUF stores it: `ne` innermost first, `data` row-major (a `[rows][cols]` matrix has ne {cols, rows}). */
export interface TensorValues {
    readonly ne: readonly number[];
    readonly data: Float32Array;
}

export interface TinyLlama {
    readonly config: TinyLlamaConfig;
    readonly tokens: readonly string[];
    readonly bosId: number;
    readonly eosId: number;
    readonly weights: ReadonlyMap<string, TensorValues>;
}

export const LINEAR_MODULES = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] as const;

/** GPT-2's byte -> printable character table, in byte order: token id b is byte b. */
export function byteLevelTokens(): string[] {
    const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const tokens: string[] = [];
    let next = 256;
    for (let b = 0; b < 256; b++) tokens.push(String.fromCodePoint(printable(b) ? b : next++));
    return tokens;
}

/** (n_in, n_out) of every linear module type, from the config. */
export function moduleShape(config: TinyLlamaConfig, moduleType: string): {nIn: number; nOut: number} {
    const headDim = config.nEmbd / config.nHead;
    switch (moduleType) {
        case "attn_q":
            return {nIn: config.nEmbd, nOut: config.nHead * headDim};
        case "attn_k":
        case "attn_v":
            return {nIn: config.nEmbd, nOut: config.nHeadKv * headDim};
        case "attn_output":
            return {nIn: config.nHead * headDim, nOut: config.nEmbd};
        case "ffn_gate":
        case "ffn_up":
            return {nIn: config.nEmbd, nOut: config.nFf};
        case "ffn_down":
            return {nIn: config.nFf, nOut: config.nEmbd};
        default:
            throw new Error(`unknown module type ${moduleType}`);
    }
}

export function makeTinyLlama(seed: number, config: TinyLlamaConfig = TINY_LLAMA_CONFIG): TinyLlama {
    const random = seededRandom(seed);
    const tokens = [...byteLevelTokens(), "<s>", "</s>"];
    const nVocab = tokens.length;
    const weights = new Map<string, TensorValues>();
    const matrix = (name: string, nIn: number, nOut: number, std: number) =>
        weights.set(name, {ne: [nIn, nOut], data: randomVector(nIn * nOut, std, random)});
    // Norm gains near 1 but not 1, so a reference that forgot them would not match.
    const norm = (name: string) =>
        weights.set(name, {ne: [config.nEmbd], data: randomVector(config.nEmbd, 0.2, random, 1)});

    matrix("token_embd.weight", config.nEmbd, nVocab, 1);
    for (let layer = 0; layer < config.nLayer; layer++) {
        norm(`blk.${layer}.attn_norm.weight`);
        for (const moduleType of LINEAR_MODULES) {
            if (moduleType === "ffn_gate") norm(`blk.${layer}.ffn_norm.weight`);
            const {nIn, nOut} = moduleShape(config, moduleType);
            matrix(`blk.${layer}.${moduleType}.weight`, nIn, nOut, 1 / Math.sqrt(nIn));
        }
    }
    norm("output_norm.weight");
    // Logits with a spread of a few nats: a distribution far from uniform but not saturated.
    matrix("output.weight", config.nEmbd, nVocab, 2 / Math.sqrt(config.nEmbd));
    return {config, tokens, bosId: nVocab - 2, eosId: nVocab - 1, weights};
}

export async function writeTinyLlama(filePath: string, model: TinyLlama): Promise<void> {
    const {config} = model;
    const arch = "llama";
    const normalToken = 1;
    const controlToken = 3;
    const tokenTypes = ggufI32Array(
        model.tokens.map((_, id) => (id === model.bosId || id === model.eosId ? controlToken : normalToken)),
    );
    await writeGguf(filePath, {
        metadata: [
            ["general.architecture", ggufString(arch)],
            ["general.name", ggufString("tiny-llama-test")],
            ["general.file_type", ggufU32(0)],
            [`${arch}.context_length`, ggufU32(config.contextLength)],
            [`${arch}.embedding_length`, ggufU32(config.nEmbd)],
            [`${arch}.block_count`, ggufU32(config.nLayer)],
            [`${arch}.feed_forward_length`, ggufU32(config.nFf)],
            [`${arch}.attention.head_count`, ggufU32(config.nHead)],
            [`${arch}.attention.head_count_kv`, ggufU32(config.nHeadKv)],
            [`${arch}.attention.layer_norm_rms_epsilon`, ggufF32(config.rmsEps)],
            [`${arch}.rope.dimension_count`, ggufU32(config.nEmbd / config.nHead)],
            [`${arch}.rope.freq_base`, ggufF32(config.ropeFreqBase)],
            [`${arch}.vocab_size`, ggufU32(model.tokens.length)],
            ["tokenizer.ggml.model", ggufString("gpt2")],
            ["tokenizer.ggml.pre", ggufString("default")],
            ["tokenizer.ggml.tokens", ggufStringArray([...model.tokens])],
            ["tokenizer.ggml.token_type", tokenTypes],
            // llama.cpp requires the key for gpt2 vocabularies; with no merges every byte is a token.
            ["tokenizer.ggml.merges", ggufStringArray([])],
            ["tokenizer.ggml.bos_token_id", ggufU32(model.bosId)],
            ["tokenizer.ggml.eos_token_id", ggufU32(model.eosId)],
            ["tokenizer.ggml.add_bos_token", ggufBool(false)],
        ],
        tensors: [...model.weights].map(([name, {ne, data}]) => ({name, ne, type: "F32" as const, data})),
    });
}

// ---------------------------------------------------------------------------------------------
// LoRA adapters

export interface LoraPair {
    readonly nIn: number;
    readonly nOut: number;
    /** `[rank][n_in]` row-major (PEFT lora_A.weight). */
    readonly a: Float32Array;
    /** `[n_out][rank]` row-major (PEFT lora_B.weight). */
    readonly b: Float32Array;
}

export interface LoraAdapterValues {
    readonly rank: number;
    readonly alpha: number;
    /** Keyed by base tensor name, e.g. `blk.0.attn_q.weight`. */
    readonly pairs: ReadonlyMap<string, LoraPair>;
}

/** A LoRA with non-zero A and B on every linear module of every layer (unlike a fresh PEFT LoRA, B != 0). */
export function makeRandomLora(
    model: TinyLlama,
    options: {rank: number; alpha: number; seed: number; bStd?: number},
): LoraAdapterValues {
    const random = seededRandom(options.seed);
    const pairs = new Map<string, LoraPair>();
    for (let layer = 0; layer < model.config.nLayer; layer++) {
        for (const moduleType of LINEAR_MODULES) {
            const {nIn, nOut} = moduleShape(model.config, moduleType);
            pairs.set(`blk.${layer}.${moduleType}.weight`, {
                nIn,
                nOut,
                a: randomVector(options.rank * nIn, 1 / Math.sqrt(nIn), random),
                b: randomVector(nOut * options.rank, (options.bStd ?? 0.3) / Math.sqrt(options.rank), random),
            });
        }
    }
    return {rank: options.rank, alpha: options.alpha, pairs};
}

export async function writeLoraAdapter(
    filePath: string,
    adapter: LoraAdapterValues,
    architecture = "llama",
): Promise<void> {
    await writeGguf(filePath, {
        metadata: [
            ["general.type", ggufString("adapter")],
            ["general.architecture", ggufString(architecture)],
            ["adapter.type", ggufString("lora")],
            ["adapter.lora.alpha", ggufF32(adapter.alpha)],
        ],
        tensors: [...adapter.pairs].flatMap(([baseName, pair]) => [
            {name: `${baseName}.lora_a`, ne: [pair.nIn, adapter.rank], type: "F32" as const, data: pair.a},
            {name: `${baseName}.lora_b`, ne: [adapter.rank, pair.nOut], type: "F32" as const, data: pair.b},
        ]),
    });
}
