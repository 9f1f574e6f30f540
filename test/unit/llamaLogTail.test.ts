// node-llama-cpp's error for a refused LoRA file carries no reason; the engine adds the lines
// llama.cpp logged while it tried.

import assert from "node:assert/strict";
import {test} from "node:test";
import {AdapterRefusedError, explainLoraFailure, LlamaLogTail} from "../../engine/runtime/llamaLogTail";

test("a bare LoRA refusal gets llama.cpp's own reasons, logged since the request began", async () => {
    const tail = new LlamaLogTail();
    tail.record("error", "an older error, before this request");
    const since = Date.now() + 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    tail.record("info", "llama_adapter_lora_init_impl: loading lora adapter from '/a.gguf' ...");
    tail.record("error", "gguf_init_from_file_impl: tensor 'blk.0.attn_q.weight.lora_b' has offset 0, expected 32\n");
    tail.record(
        "error",
        "llama_adapter_lora_init: failed to apply lora adapter: failed to load lora adapter file from /a.gguf",
    );
    tail.record(
        "error",
        "llama_adapter_lora_init: failed to apply lora adapter: failed to load lora adapter file from /a.gguf",
    );
    const explained = await explainLoraFailure(new Error('Failed to initialize LoRA adapter "/a.gguf"'), tail, since);
    assert.ok(explained instanceof AdapterRefusedError);
    assert.equal(explained.code, "adapter-refused");
    assert.equal(explained.filePath, "/a.gguf");
    assert.deepEqual(explained.reasons, [
        "gguf_init_from_file_impl: tensor 'blk.0.attn_q.weight.lora_b' has offset 0, expected 32",
        "llama_adapter_lora_init: failed to apply lora adapter: failed to load lora adapter file from /a.gguf",
    ]);
    assert.match(
        explained.message,
        /^llama\.cpp refused the LoRA file \/a\.gguf: gguf_init_from_file_impl: tensor .* has offset 0, expected 32; /,
    );
});

test("other errors pass through unchanged, and a refusal with nothing logged says so", async () => {
    const tail = new LlamaLogTail();
    const other = new Error("No sequences left");
    assert.equal(await explainLoraFailure(other, tail, 0), other);
    const bare = await explainLoraFailure(new Error('Failed to initialize LoRA adapter "/b.gguf"'), tail, 0);
    assert.match((bare as Error).message, /refused the LoRA file \/b\.gguf: it logged no reason/);
});
