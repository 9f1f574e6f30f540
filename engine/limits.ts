// The engine's default limits, in a module without native code so the extension host can read them.

/**
 * contextSize 8192 holds a 5,000-word selection for a reply; Gemma 3's sliding-window layers keep
 * the KV cache small: each context adds ~47 MB of RSS at 8192 vs ~25 MB at 2048 (measured with
 * node-llama-cpp 3.21.1 on the default model). Longer summaries go in parts (compose/length.ts).
 */
export const DEFAULT_ENGINE_LIMITS = {contextSize: 8192, maxContexts: 4, flashAttention: false};
