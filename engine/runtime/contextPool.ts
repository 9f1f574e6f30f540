// Contexts keyed by their adapter mix, least recently used evicted first. A context owns its
// LoRA mix in llama.cpp, so a new composite needs a new context; a warm one is reused as is.

import {setTimeout as delay} from "node:timers/promises";
import type {LlamaContext} from "node-llama-cpp";
import type {LlamaRuntime} from "./llamaRuntime";

export interface LoraFile {
    readonly filePath: string;
    readonly scale: number;
}

export interface ContextMix {
    readonly key: string;
    readonly loras: readonly LoraFile[];
}

export interface ContextPoolOptions {
    readonly contextSize: number;
    /** Each context holds its own KV cache; this bounds memory. */
    readonly maxContexts: number;
    /** Exact comparisons need F32 attention; flash attention computes in F16 on CPU. */
    readonly flashAttention: boolean;
}

export interface PooledContext {
    readonly context: LlamaContext;
    /** True when this call created the context (a cold start). */
    readonly created: boolean;
}

export class ContextPool {
    private readonly entries = new Map<string, LlamaContext>();
    private lastKey: string | null = null;

    constructor(
        private readonly runtime: LlamaRuntime,
        private readonly options: ContextPoolOptions,
    ) {
        if (options.maxContexts < 1) throw new Error("maxContexts must be at least 1.");
    }

    get size(): number {
        return this.entries.size;
    }

    has(key: string): boolean {
        return this.entries.has(key);
    }

    async acquire(mix: ContextMix): Promise<PooledContext> {
        const switching = this.lastKey !== null && this.lastKey !== mix.key;
        this.lastKey = mix.key;
        const existing = this.entries.get(mix.key);
        if (existing !== undefined) {
            // Re-insert to mark it most recently used.
            this.entries.delete(mix.key);
            this.entries.set(mix.key, existing);
            // The previous context releases its threads in a setTimeout(0); without this
            // pause the next evaluation gets one thread instead of all of them.
            if (switching) await delay(5);
            return {context: existing, created: false};
        }
        while (this.entries.size >= this.options.maxContexts) await this.evictOldest();
        const context = await this.runtime.model.createContext({
            contextSize: this.options.contextSize,
            sequences: 1,
            threads: this.runtime.threads,
            flashAttention: this.options.flashAttention,
            lora: mix.loras.length > 0 ? {adapters: mix.loras.map((l) => ({...l}))} : undefined,
        });
        this.entries.set(mix.key, context);
        return {context, created: true};
    }

    private async evictOldest(): Promise<void> {
        const oldest = this.entries.keys().next();
        if (oldest.done) return;
        const context = this.entries.get(oldest.value);
        this.entries.delete(oldest.value);
        await context?.dispose();
    }

    async dispose(): Promise<void> {
        const contexts = [...this.entries.values()];
        this.entries.clear();
        await Promise.all(contexts.map((context) => context.dispose()));
    }
}
