// What the pool charges a context (engine/runtime/contextMemory.ts), from a model's attention
// shape as its GGUF header gives it: which layers slide (llama.cpp's pattern per architecture,
// none assumed for an unknown one), per-layer KV heads, and how size, batch, cache type and flash
// attention move the figure. test/integration/contextMemory.test.ts checks the KV cache against
// what llama.cpp allocates for the real model.

import assert from "node:assert/strict";
import {test} from "node:test";
import {type GgufHeader, type GgufValue, GgufValueType} from "../../engine/gguf";
import {attentionShape, contextBytes, kvCacheBytes} from "../../engine/runtime/contextMemory";

const MiB = 2 ** 20;

function header(arch: string, extra: Record<string, GgufValue> = {}): GgufHeader {
    const u32 = (value: number): GgufValue => ({type: GgufValueType.UINT32, value}) as GgufValue;
    const metadata = new Map<string, GgufValue>([
        ["general.architecture", {type: GgufValueType.STRING, value: arch} as GgufValue],
        [`${arch}.block_count`, u32(18)],
        [`${arch}.embedding_length`, u32(640)],
        [`${arch}.feed_forward_length`, u32(2048)],
        [`${arch}.attention.head_count`, u32(4)],
        [`${arch}.attention.head_count_kv`, u32(1)],
        [`${arch}.attention.key_length`, u32(256)],
        [`${arch}.attention.value_length`, u32(256)],
        [`${arch}.attention.sliding_window`, u32(512)],
        ...Object.entries(extra),
    ]);
    return {
        filePath: `/models/${arch}.gguf`,
        metadata,
        tensors: [{name: "token_embd.weight", ne: [640, 262144], type: 8, offset: 0, byteLength: 0}],
    } as unknown as GgufHeader;
}

const settings = {contextSize: 8192, batchSize: 512, flashAttention: false, kvCacheType: "F16" as const};

test("Gemma 3: every sixth layer attends to the whole context, the others to the window", () => {
    const shape = attentionShape(header("gemma3"));
    assert.deepEqual(
        shape.layers.flatMap((layer, i) => (layer.sliding ? [] : [i])),
        [5, 11, 17],
    );
    assert.equal(shape.vocabularySize, 262144);
    // llama.cpp on the real model: 24.00 MiB for the 3 full layers (8192 cells) and 18.75 MiB for
    // the 15 sliding ones (512 + 513 cells, padded to 1280).
    assert.equal(kvCacheBytes(shape, settings), 42.75 * MiB);
    assert.equal(kvCacheBytes(shape, {...settings, contextSize: 2048, batchSize: 128}), (6 + 11.25) * MiB);
    assert.equal(kvCacheBytes(shape, {...settings, kvCacheType: "Q8_0"}), (42.75 * MiB * 34) / 64);
});

test("an architecture whose window pattern is unknown is counted as full attention everywhere", () => {
    const shape = attentionShape(header("mystery"));
    assert.ok(shape.layers.every((layer) => !layer.sliding));
    assert.equal(kvCacheBytes(shape, settings), 18 * 8192 * 512 * 2);
    assert.ok(kvCacheBytes(shape, settings) > kvCacheBytes(attentionShape(header("gemma3")), settings));
});

test("per-layer KV head counts are read layer by layer", () => {
    const heads = Array.from({length: 18}, (_, i) => (i % 2 === 0 ? 1 : 2));
    const shape = attentionShape(
        header("mystery", {
            "mystery.attention.head_count_kv": {
                type: GgufValueType.ARRAY,
                itemType: GgufValueType.UINT32,
                value: heads,
            } as unknown as GgufValue,
        }),
    );
    assert.deepEqual(
        shape.layers.map((layer) => layer.kWidth),
        heads.map((h) => h * 256),
    );
});

test("a context costs more with more cells or a larger batch, and less with flash attention", () => {
    const shape = attentionShape(header("gemma3"));
    const bytes = (overrides: Partial<typeof settings>) => contextBytes(shape, {...settings, ...overrides});
    assert.ok(bytes({contextSize: 1024}) < bytes({contextSize: 2048}));
    assert.ok(bytes({contextSize: 2048}) < bytes({contextSize: 8192}));
    assert.ok(bytes({batchSize: 128}) < bytes({batchSize: 512}));
    assert.ok(bytes({flashAttention: true}) < bytes({}));
    // The scores of one batch at 8192 cells without flash attention: 8192 x 513 x (4 heads + mask) x 4 bytes.
    assert.equal(bytes({}) - bytes({flashAttention: true}), 8192 * 513 * 5 * 4);
    // Filled contexts of the real model took 68.8 MiB (8192, batch 128) and 32.0-32.8 MiB (2048,
    // batch 128) of RSS: the charge is not below what was measured.
    assert.ok(bytes({batchSize: 128}) > 68.8 * MiB);
    assert.ok(bytes({contextSize: 2048, batchSize: 128}) > 32.8 * MiB);
});
