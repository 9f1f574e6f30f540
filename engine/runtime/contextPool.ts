// Contexts keyed by their adapter mix, least recently used evicted first. A context owns its
// LoRA mix in llama.cpp, so a new composite needs a new context; a warm one is reused as is.
//
// Each context has one sequence and serves one generation at a time: requests for a mix that is
// busy wait their turn (first come, first served), so every request gets exactly the text it
// would get alone (greedy), and concurrent requests never run out of sequences. Requests for
// different mixes run side by side in different contexts. There are never more than
// `maxContexts` contexts, and a context in use is never evicted: when every context is busy, a
// request for a new mix waits until one is free.

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
    /** True when this request created the context (a cold start). */
    readonly created: boolean;
}

/** The request was cancelled while it waited for a context; it never ran. */
export class ContextWaitCancelledError extends Error {
    override name = "ContextWaitCancelledError";
    constructor() {
        super("Cancelled while waiting for a context.");
    }
}

/** One mix's context: created once (racing requests share the creation) and held by one user at a time. */
interface Slot {
    readonly key: string;
    readonly context: Promise<LlamaContext>;
    /** Whether a request holds this context (its creator holds it from the start). */
    held: boolean;
    /** Requests waiting for this context, in arrival order; each is called when it is its turn. */
    readonly queue: (() => void)[];
}

export class ContextPool {
    /** Map order is recency: the first slot is the least recently used. */
    private readonly slots = new Map<string, Slot>();
    /** Requests for a new mix waiting for a context to be released or removed. */
    private readonly capacityWaiters = new Set<() => void>();
    private lastKey: string | null = null;
    private disposed = false;

    constructor(
        private readonly runtime: LlamaRuntime,
        private readonly options: ContextPoolOptions,
    ) {
        if (options.maxContexts < 1) throw new Error("maxContexts must be at least 1.");
    }

    /** Contexts alive or being created (never more than maxContexts). */
    get size(): number {
        return this.slots.size;
    }

    /**
     * Runs `work` with the context for `mix`, alone on it, and releases the context when
     * `work` settles. Waits (cancellable by `signal`) while the context is busy or every
     * context is in use.
     */
    async use<T>(
        mix: ContextMix,
        signal: AbortSignal | undefined,
        work: (pooled: PooledContext) => Promise<T>,
    ): Promise<T> {
        const {slot, created} = await this.acquire(mix, signal);
        try {
            const context = await slot.context;
            // The previous context releases its threads in a setTimeout(0); without this
            // pause the next evaluation gets one thread instead of all of them.
            const switching = this.lastKey !== null && this.lastKey !== mix.key;
            this.lastKey = mix.key;
            if (switching) await delay(5);
            return await work({context, created});
        } finally {
            this.release(slot);
        }
    }

    private async acquire(mix: ContextMix, signal: AbortSignal | undefined): Promise<{slot: Slot; created: boolean}> {
        for (;;) {
            if (this.disposed) throw new Error("The context pool is disposed.");
            if (signal?.aborted) throw new ContextWaitCancelledError();
            const existing = this.slots.get(mix.key);
            if (existing !== undefined) {
                this.touch(existing);
                await this.take(existing, signal);
                return {slot: existing, created: false};
            }
            if (this.slots.size < this.options.maxContexts) return {slot: this.create(mix, null), created: true};
            const idle = [...this.slots.values()].find((slot) => !slot.held && slot.queue.length === 0);
            // The victim leaves and the new slot enters in the same step, so the count never
            // exceeds maxContexts; the new context is created once the old one is freed.
            if (idle !== undefined) return {slot: this.create(mix, idle), created: true};
            await this.capacityChange(signal);
        }
    }

    /** A held slot for `mix`, replacing `victim` (disposed first) when the pool is full. */
    private create(mix: ContextMix, victim: Slot | null): Slot {
        if (victim !== null) this.slots.delete(victim.key);
        const freed = victim === null ? Promise.resolve() : disposeQuietly(victim.context);
        const context = freed.then(() =>
            this.runtime.model.createContext({
                contextSize: this.options.contextSize,
                sequences: 1,
                threads: this.runtime.threads,
                flashAttention: this.options.flashAttention,
                lora: mix.loras.length > 0 ? {adapters: mix.loras.map((l) => ({...l}))} : undefined,
            }),
        );
        const slot: Slot = {key: mix.key, context, held: true, queue: []};
        // A mix that cannot be created is forgotten at once: whoever waits for it gets the
        // error, and the next request tries again.
        context.catch(() => this.remove(slot));
        this.slots.set(mix.key, slot);
        return slot;
    }

    private touch(slot: Slot): void {
        this.slots.delete(slot.key);
        this.slots.set(slot.key, slot);
    }

    /** Waits for this slot's turn (first come, first served). */
    private take(slot: Slot, signal: AbortSignal | undefined): Promise<void> {
        if (!slot.held) {
            slot.held = true;
            return Promise.resolve();
        }
        return new Promise<void>((resolve, reject) => {
            const granted = () => {
                signal?.removeEventListener("abort", cancelled);
                resolve();
            };
            const cancelled = () => {
                const index = slot.queue.indexOf(granted);
                if (index >= 0) slot.queue.splice(index, 1);
                reject(new ContextWaitCancelledError());
            };
            slot.queue.push(granted);
            signal?.addEventListener("abort", cancelled, {once: true});
        });
    }

    /** Hands the slot to the next waiter, or frees it (which may let a new mix in). */
    private release(slot: Slot): void {
        const next = slot.queue.shift();
        if (next !== undefined) {
            next();
            return;
        }
        slot.held = false;
        this.wakeCapacityWaiters();
    }

    private remove(slot: Slot): void {
        if (this.slots.get(slot.key) === slot) this.slots.delete(slot.key);
        this.wakeCapacityWaiters();
    }

    private capacityChange(signal: AbortSignal | undefined): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            const woken = () => {
                signal?.removeEventListener("abort", cancelled);
                resolve();
            };
            const cancelled = () => {
                this.capacityWaiters.delete(woken);
                reject(new ContextWaitCancelledError());
            };
            this.capacityWaiters.add(woken);
            signal?.addEventListener("abort", cancelled, {once: true});
        });
    }

    private wakeCapacityWaiters(): void {
        const waiters = [...this.capacityWaiters];
        this.capacityWaiters.clear();
        for (const wake of waiters) wake();
    }

    async dispose(): Promise<void> {
        this.disposed = true;
        const slots = [...this.slots.values()];
        this.slots.clear();
        this.wakeCapacityWaiters();
        await Promise.all(slots.map((slot) => disposeQuietly(slot.context)));
    }
}

/** Frees a context; one that failed to be created has nothing to free. */
async function disposeQuietly(context: Promise<LlamaContext>): Promise<void> {
    const created = await context.catch(() => null);
    await created?.dispose();
}
