// What a llama.cpp context holds in resident memory, from the model's attention shape and the
// context's settings, so that the context pool can be bounded in bytes (contextPool.ts).
//
// node-llama-cpp's own figure (`LlamaContext.memoryUsage`, `estimateContextResourceRequirementsV2`)
// is what llama.cpp allocates, and that is not what a context costs: its compute buffer is
// reserved for a batch whose every token asks for logits (262144 x 512 x 4 bytes = 512 MiB on
// Gemma 3), but the engine asks for the last token's only, so those pages are never touched.
// Measured on the default model (node-llama-cpp 3.21.1, context 8192, batch 512, F16 cache):
// 558 MiB allocated, 43 MiB resident once created, 54 MiB after a short prompt, 111-137 MiB after
// a 7,000-token one. What stays resident is
//   - the KV cache, written in full when the context is created (exact: llama.cpp's layout below);
//   - the attention scores of the largest batch read so far: without flash attention, one F32
//     matrix of (cells) x (batch) x (query heads) and its F32 mask, which the 7,000-token prompt
//     above filled (8192 x 513 x 20 bytes = 80 MiB); flash attention computes them in tiles;
//   - the rest of the compute scratch, the output row and node-llama-cpp's sampler: a few MB
//     that grow with the vocabulary and the batch (the constants below, fitted to measurements).
// bench/memory.ts and test/integration/contextMemory.test.ts check this against real RSS.

import {type GgufHeader, GgufValueType, metaNumberArray, metaOptionalNumber, metaString} from "../gguf";

/** KV cache element types node-llama-cpp accepts here; a quantized V cache needs flash attention. */
export type KvCacheType = "F32" | "F16" | "Q8_0";

const BYTES_PER_ELEMENT: Record<KvCacheType, number> = {F32: 4, F16: 2, Q8_0: 34 / 32};

/** llama.cpp pads context sizes and the sliding-window cache to this many cells. */
const CELL_PADDING = 256;

/**
 * What every context holds beyond its cache and scores. Fitted so that no measured context
 * exceeds its estimate: filled contexts of the default model at batch 128 took 32.0-32.8 MiB at
 * 2048 cells (estimate 36.3) and 68.8 MiB at 8192 (estimate 69.4); at batch 512, 55-62 MiB at
 * 2048 (estimate 64.8) and 111-137 MiB at 8192 (estimate 143). RSS growth per context in a fresh
 * process with the engine's allocator settings (isolation/hostEnvironment.ts), one thread,
 * node-llama-cpp 3.21.1 (bench/results/2026-12-04-memory-1thread/fill-probe.mjs).
 */
const FIXED_BYTES = 8 * 2 ** 20;
/** Per vocabulary entry: one F32 logit in the output buffer and the sampler's 12-byte candidate. */
const PER_VOCAB_BYTES = 16;
/** Per batch token: the layer activations the scratch holds besides the scores (F32 rows of the FFN width). */
const PER_BATCH_TOKEN_FFN_ROWS = 2;

/** How a model lays out its attention, as llama.cpp sizes the KV cache. */
export interface AttentionShape {
    /** Per layer: whether it attends within the sliding window only, and its K and V row widths. */
    readonly layers: readonly {readonly sliding: boolean; readonly kWidth: number; readonly vWidth: number}[];
    /** Query heads: the attention scores have one matrix per head. */
    readonly headCount: number;
    /** Tokens a sliding-window layer sees; 0 when the model has none. */
    readonly slidingWindow: number;
    readonly vocabularySize: number;
    readonly feedForwardLength: number;
}

/** A context's settings that decide its memory. */
export interface ContextSettings {
    readonly contextSize: number;
    /** Tokens evaluated at once (node-llama-cpp's batchSize; llama.cpp's n_batch = n_ubatch). */
    readonly batchSize: number;
    readonly flashAttention: boolean;
    readonly kvCacheType: KvCacheType;
}

/**
 * Which layers of an architecture use the sliding window, as llama.cpp's `set_swa_pattern(n)`
 * has it: layer i slides unless i % n == n - 1. Architectures not listed are counted as full
 * attention everywhere, which over-counts their memory rather than under-counting it.
 */
const SLIDING_WINDOW_PATTERN: Readonly<Record<string, number>> = {gemma2: 2, gemma3: 6};

function padCells(cells: number): number {
    return Math.ceil(cells / CELL_PADDING) * CELL_PADDING;
}

export function attentionShape(header: GgufHeader): AttentionShape {
    const arch = metaString(header, "general.architecture");
    const number = (key: string) => metaOptionalNumber(header, `${arch}.${key}`);
    const required = (key: string) => {
        const value = number(key);
        if (value === undefined)
            throw new Error(`${header.filePath} has no ${arch}.${key}: its attention shape is unknown.`);
        return value;
    };
    const layerCount = required("block_count");
    const headCount = required("attention.head_count");
    const embedding = required("embedding_length");
    // One KV head count for every layer, or (some hybrid models) one per layer.
    const kvKey = `${arch}.attention.head_count_kv`;
    const kvHeads =
        header.metadata.get(kvKey)?.type === GgufValueType.ARRAY
            ? metaNumberArray(header, kvKey)
            : Array.from({length: layerCount}, () => number("attention.head_count_kv") ?? headCount);
    const keyLength = number("attention.key_length") ?? embedding / headCount;
    const valueLength = number("attention.value_length") ?? embedding / headCount;
    const slidingWindow = number("attention.sliding_window") ?? 0;
    const pattern = slidingWindow > 0 ? SLIDING_WINDOW_PATTERN[arch] : undefined;
    const vocabulary = header.tensors.find((t) => t.name === "token_embd.weight")?.ne[1] ?? 0;
    return {
        layers: Array.from({length: layerCount}, (_, i) => ({
            sliding: pattern !== undefined && i % pattern !== pattern - 1,
            kWidth: (kvHeads[i] ?? headCount) * keyLength,
            vWidth: (kvHeads[i] ?? headCount) * valueLength,
        })),
        headCount,
        slidingWindow: pattern === undefined ? 0 : slidingWindow,
        vocabularySize: vocabulary,
        feedForwardLength: number("feed_forward_length") ?? 4 * embedding,
    };
}

/** Cells llama.cpp gives a layer's cache (llama_kv_cache_iswa: the window plus one batch, padded). */
function cells(shape: AttentionShape, settings: ContextSettings, sliding: boolean): number {
    const full = padCells(settings.contextSize);
    if (!sliding) return full;
    // node-llama-cpp asks for one more batch token on sliding-window models.
    return padCells(Math.min(full, shape.slidingWindow + settings.batchSize + 1));
}

export function kvCacheBytes(shape: AttentionShape, settings: ContextSettings): number {
    const perElement = BYTES_PER_ELEMENT[settings.kvCacheType];
    let bytes = 0;
    for (const layer of shape.layers)
        bytes += cells(shape, settings, layer.sliding) * (layer.kWidth + layer.vWidth) * perElement;
    return Math.ceil(bytes);
}

/** The largest attention-score matrix a batch leaves resident, with its mask (none with flash attention). */
export function attentionScoreBytes(shape: AttentionShape, settings: ContextSettings): number {
    if (settings.flashAttention) return 0;
    const widest = Math.max(0, ...shape.layers.map((layer) => cells(shape, settings, layer.sliding)));
    return widest * (settings.batchSize + 1) * (shape.headCount + 1) * 4;
}

/** Resident bytes of one context of `settings` once it has read its largest prompt. */
export function contextBytes(shape: AttentionShape, settings: ContextSettings): number {
    return (
        kvCacheBytes(shape, settings) +
        attentionScoreBytes(shape, settings) +
        FIXED_BYTES +
        shape.vocabularySize * PER_VOCAB_BYTES +
        settings.batchSize * shape.feedForwardLength * PER_BATCH_TOKEN_FFN_ROWS * 4
    );
}
