// The engine's default limits, in a module without native code so the extension host can read them.

/**
 * contextSize 8192 holds a 5,000-word selection for a reply (longer summaries go in parts:
 * compose/length.ts); a request gets only the context size it needs (runtime/contextPool.ts).
 * batchSize 128: a batch's attention scores stay resident in its context (without flash
 * attention, cells x batch x 4 heads x 4 bytes), so a 8192-token context that read a long prompt
 * held 111-137 MB at batch 512 and 69 MB at 128, at the same prompt speed within this machine's
 * noise (runtime/contextMemory.ts). contextMemoryBytes bounds the warm contexts and the LoRA
 * files they use together, beyond the base model: 4 composites (a fused LoRA of 22 MB and a
 * context of 1024-2048 tokens each: 53-59 MB) in 256 MiB.
 */
export const DEFAULT_ENGINE_LIMITS = {
    contextSize: 8192,
    batchSize: 128,
    contextMemoryBytes: 256 * 2 ** 20,
    flashAttention: false,
};
