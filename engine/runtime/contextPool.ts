// Contexts keyed by their adapter mix and sized by the request, bounded in bytes, least recently
// used evicted first. A context owns its LoRA mix in llama.cpp, so a new composite needs a new
// context; a warm one is reused as is.
//
// Each context has one sequence and serves one generation at a time: requests for a mix that is
// busy wait their turn (first come, first served), so every request gets exactly the text it
// would get alone (greedy), and concurrent requests never run out of sequences. Requests for
// different mixes run side by side in different contexts. Several sequences per context, for a
// rewrite's sentences side by side, were measured (2026-12-06, 16 sentences, tone:casual, 2
// threads): no faster (13.5-16.4 s alone, 14.0-18.2 s with 4 or 8), and some sentences came out
// garbled, as the lab's teacher did with 4 sequences (lab/TRAINING.md).
//
// Memory: every context is charged what it holds once it has read its largest prompt
// (contextMemory.ts), and every LoRA file its size (llama.cpp reads it whole). The contexts and
// the LoRAs they use never hold more than `memoryBudgetBytes` together: a request that does not
// fit evicts idle contexts (least recently used first) and waits, holding nothing, while every
// context is busy. A context in use is never evicted. A new context is created only once the
// memory of the ones it replaces is freed, and a LoRA no remaining context uses is unloaded
// (node-llama-cpp would keep it until the model is closed). The one exception: a single context
// larger than the whole budget runs when nothing else is in memory, rather than never.
//
// Sizes: a request says how many tokens it needs (prompt + generation); it gets the smallest
// warm context of its mix that holds them, else a new one of the smallest size class that does
// (1024, 2048, 4096, ... up to `contextSize`). A context's size does not change its output: the
// attention reads only the cells in use.

import {stat} from "node:fs/promises";
import {setTimeout as delay} from "node:timers/promises";
import type {LlamaContext} from "node-llama-cpp";
import {type AttentionShape, contextBytes} from "./contextMemory";
import type {ContextShape, LlamaRuntime} from "./llamaRuntime";

export interface LoraFile {
    readonly filePath: string;
    readonly scale: number;
}

export interface ContextMix {
    readonly key: string;
    readonly loras: readonly LoraFile[];
}

export interface ContextPoolOptions {
    /** The largest context in tokens (a request that needs more gets this size, and generate refuses it). */
    readonly contextSize: number;
    /** Tokens evaluated at once. */
    readonly batchSize: number;
    /** Exact comparisons need F32 attention; flash attention computes in F16 on CPU. */
    readonly flashAttention: boolean;
    /** What the contexts and the LoRA files they use may hold in memory together. */
    readonly memoryBudgetBytes: number;
    /** Resident bytes of one context of `contextSize` tokens (contextMemory.ts). */
    readonly contextBytes: (contextSize: number) => number;
    /** Resident bytes of a LoRA file once loaded; default: its size on disk. */
    readonly loraBytes?: (filePath: string) => Promise<number>;
    /** A cap on the number of contexts as well (the benchmark's one-context pool); default: bytes only. */
    readonly maxContexts?: number;
}

export interface PoolRequest {
    readonly signal?: AbortSignal;
    /** Tokens the request will hold: its prompt and its answer. */
    readonly tokens?: number;
}

export interface PooledContext {
    readonly context: LlamaContext;
    /** True when this request created the context (a cold start). */
    readonly created: boolean;
}

/** What the pool holds now, for status reports and the benchmark. */
export interface PoolMemory {
    readonly budgetBytes: number;
    /** Contexts and LoRAs in memory now, or being created or freed. */
    readonly residentBytes: number;
    /** The most `residentBytes` has been since the pool was made. */
    readonly peakResidentBytes: number;
    readonly contexts: readonly {readonly mix: string; readonly contextSize: number; readonly bytes: number}[];
    readonly loras: {readonly count: number; readonly bytes: number};
}

/** The engine's settings that shape its pool (EngineConfig's fields of the same names). */
export interface PoolLimits {
    readonly contextSize: number;
    readonly batchSize: number;
    readonly flashAttention: boolean;
    readonly contextMemoryBytes: number;
    readonly maxContexts?: number;
}

/** The pool of an engine: contexts charged by contextMemory.ts for this model's attention, with an F16 cache (node-llama-cpp's default). */
export function contextPoolOptions(limits: PoolLimits, shape: AttentionShape): ContextPoolOptions {
    return {
        contextSize: limits.contextSize,
        batchSize: limits.batchSize,
        flashAttention: limits.flashAttention,
        memoryBudgetBytes: limits.contextMemoryBytes,
        contextBytes: (contextSize) =>
            contextBytes(shape, {
                contextSize,
                batchSize: limits.batchSize,
                flashAttention: limits.flashAttention,
                kvCacheType: "F16",
            }),
        ...(limits.maxContexts === undefined ? {} : {maxContexts: limits.maxContexts}),
    };
}

/** The smallest size class; a few hundred tokens of prompt and an answer fit. */
export const MIN_CONTEXT_SIZE = 1024;

/** The request was cancelled while it waited for a context; it never ran. */
export class ContextWaitCancelledError extends Error {
    override name = "ContextWaitCancelledError";
    constructor() {
        super("Cancelled while waiting for a context.");
    }
}

/** One context: created once (racing requests share the creation) and held by one user at a time. */
interface Slot {
    readonly key: string;
    readonly mix: ContextMix;
    readonly contextSize: number;
    readonly bytes: number;
    /** Distinct LoRA files of the mix, and what each holds once loaded. */
    readonly loraBytes: ReadonlyMap<string, number>;
    /** Settles once the context is created (or its creation failed). */
    readonly context: Promise<LlamaContext>;
    /** Starts the creation; called once its memory is free (see startWaiting). */
    readonly start: () => void;
    /** Fails a creation that never started (the pool was disposed). */
    readonly abandon: (error: Error) => void;
    /** Counted in resident memory: being created, alive, or being freed. */
    started: boolean;
    /** Whether a request holds this context (its creator holds it from the start). */
    held: boolean;
    /** Requests waiting for this context, in arrival order; each is called when it is its turn. */
    readonly queue: (() => void)[];
}

interface LoadedLora {
    readonly bytes: number;
    /** Being unloaded: counted until it is freed, and not to be loaded again before. */
    unloading: Promise<void> | null;
    /** This node-llama-cpp cannot free it: it stays, charged, until the model is closed. */
    pinned: boolean;
}

export class ContextPool {
    /** Map order is recency: the first slot is the least recently used. */
    private readonly slots = new Map<string, Slot>();
    /** Slots whose memory is not free yet, in the order they were made. */
    private readonly waitingToStart: Slot[] = [];
    /** LoRA files in memory (or on their way in or out), by path. */
    private readonly loras = new Map<string, LoadedLora>();
    private readonly loraSizes = new Map<string, Promise<number>>();
    /** Requests waiting for room: woken when a context is released or memory is freed. */
    private readonly capacityWaiters = new Set<() => void>();
    private residentBytes = 0;
    private peakResidentBytes = 0;
    private residentContexts = 0;
    /** Evicted contexts not freed yet. */
    private releasing = 0;
    private lastKey: string | null = null;
    private disposed = false;

    constructor(
        private readonly runtime: LlamaRuntime,
        private readonly options: ContextPoolOptions,
    ) {
        if (!(options.memoryBudgetBytes > 0)) throw new RangeError("memoryBudgetBytes must be positive.");
        if (options.maxContexts !== undefined && options.maxContexts < 1)
            throw new RangeError("maxContexts must be at least 1.");
    }

    /** Contexts alive or being created. */
    get size(): number {
        return this.slots.size;
    }

    /** The size class a request of `tokens` tokens gets. */
    contextSizeFor(tokens: number): number {
        const largest = this.options.contextSize;
        let size = Math.min(MIN_CONTEXT_SIZE, largest);
        while (size < tokens && size < largest) size = Math.min(size * 2, largest);
        return size;
    }

    /** Every shape this pool's contexts can have, smallest first (the size classes). */
    shapes(): ContextShape[] {
        const {contextSize, batchSize, flashAttention} = this.options;
        const shapes: ContextShape[] = [];
        for (let size = this.contextSizeFor(0); ; size = this.contextSizeFor(size + 1)) {
            shapes.push({contextSize: size, batchSize, flashAttention});
            if (size >= contextSize) return shapes;
        }
    }

    memory(): PoolMemory {
        const loraBytes = [...this.loras.values()].reduce((sum, lora) => sum + lora.bytes, 0);
        return {
            budgetBytes: this.options.memoryBudgetBytes,
            residentBytes: this.residentBytes,
            peakResidentBytes: this.peakResidentBytes,
            contexts: [...this.slots.values()].map((slot) => ({
                mix: slot.mix.key,
                contextSize: slot.contextSize,
                bytes: slot.bytes,
            })),
            loras: {count: this.loras.size, bytes: loraBytes},
        };
    }

    /**
     * Runs `work` with a context for `mix` that holds `request.tokens` tokens (default: the
     * largest size), alone on it, and releases the context when `work` settles. Waits
     * (cancellable by `request.signal`) while the context is busy or the memory is held by
     * contexts in use.
     */
    async use<T>(mix: ContextMix, request: PoolRequest, work: (pooled: PooledContext) => Promise<T>): Promise<T> {
        const {signal, tokens = this.options.contextSize} = request;
        const loraPaths = [...new Set(mix.loras.map((lora) => lora.filePath))];
        const loraBytes = new Map(
            await Promise.all(loraPaths.map(async (path) => [path, await this.loraSize(path)] as const)),
        );
        const {slot, created} = await this.acquire(mix, loraBytes, tokens, signal);
        try {
            const context = await slot.context;
            // The previous context releases its threads in a setTimeout(0); without this
            // pause the next evaluation gets one thread instead of all of them.
            const switching = this.lastKey !== null && this.lastKey !== slot.key;
            this.lastKey = slot.key;
            if (switching) await delay(5);
            return await work({context, created});
        } finally {
            this.release(slot);
        }
    }

    private loraSize(path: string): Promise<number> {
        let size = this.loraSizes.get(path);
        if (size === undefined) {
            // A file that cannot be read is charged nothing here: loading it fails with its own error.
            size = (this.options.loraBytes ?? fileBytes)(path).catch(() => 0);
            this.loraSizes.set(path, size);
        }
        return size;
    }

    private async acquire(
        mix: ContextMix,
        loraBytes: ReadonlyMap<string, number>,
        tokens: number,
        signal: AbortSignal | undefined,
    ): Promise<{slot: Slot; created: boolean}> {
        const contextSize = this.contextSizeFor(tokens);
        for (;;) {
            if (this.disposed) throw new Error("The context pool is disposed.");
            if (signal?.aborted) throw new ContextWaitCancelledError();
            const existing = this.smallestHolding(mix.key, contextSize);
            if (existing !== undefined) {
                this.touch(existing);
                await this.take(existing, signal);
                return {slot: existing, created: false};
            }
            const victims = this.victimsFor(mix, contextSize, loraBytes);
            if (victims !== null) {
                for (const victim of victims) this.evict(victim);
                return {slot: this.create(mix, contextSize, loraBytes), created: true};
            }
            await this.capacityChange(signal);
        }
    }

    /** The smallest context of this mix that holds `contextSize` tokens. */
    private smallestHolding(mixKey: string, contextSize: number): Slot | undefined {
        let best: Slot | undefined;
        for (const slot of this.slots.values())
            if (
                slot.mix.key === mixKey &&
                slot.contextSize >= contextSize &&
                !(best && best.contextSize <= slot.contextSize)
            )
                best = slot;
        return best;
    }

    /**
     * The idle contexts to evict so that a new one fits the budget (least recently used first,
     * and this mix's smaller ones in any case: the new one serves all they could); null when it
     * does not fit until a context in use is released.
     */
    private victimsFor(mix: ContextMix, contextSize: number, loraBytes: ReadonlyMap<string, number>): Slot[] | null {
        const budget = this.options.memoryBudgetBytes;
        const maxContexts = this.options.maxContexts ?? Number.POSITIVE_INFINITY;
        const newBytes = this.options.contextBytes(contextSize);
        const idle = [...this.slots.values()].filter((slot) => !slot.held && slot.queue.length === 0);
        const victims = idle.filter((slot) => slot.mix.key === mix.key);
        const others = idle.filter((slot) => slot.mix.key !== mix.key);
        const fits = () => {
            const staying = [...this.slots.values()].filter((slot) => !victims.includes(slot));
            return staying.length + 1 <= maxContexts && this.committedBytes(staying, loraBytes) + newBytes <= budget;
        };
        while (!fits()) {
            const next = others.shift();
            if (next === undefined) {
                // Larger than the budget on its own: it runs once nothing else is held.
                return victims.length === this.slots.size ? victims : null;
            }
            victims.push(next);
        }
        return victims;
    }

    /** What `slots` and a new context using `newLoras` commit: their contexts, every LoRA they use, and LoRAs that cannot be freed. */
    private committedBytes(slots: readonly Slot[], newLoras: ReadonlyMap<string, number>): number {
        const used = new Map<string, number>(newLoras);
        for (const slot of slots) for (const [path, bytes] of slot.loraBytes) used.set(path, bytes);
        for (const [path, lora] of this.loras) if (lora.pinned) used.set(path, lora.bytes);
        let bytes = 0;
        for (const slot of slots) bytes += slot.bytes;
        for (const size of used.values()) bytes += size;
        return bytes;
    }

    /** A held slot for `mix`, created once the memory it needs is free. */
    private create(mix: ContextMix, contextSize: number, loraBytes: ReadonlyMap<string, number>): Slot {
        let begin: () => void = () => {};
        let abandon: (error: Error) => void = () => {};
        const context = new Promise<LlamaContext>((resolve, reject) => {
            abandon = reject;
            begin = () =>
                this.runtime.model
                    .createContext({
                        contextSize,
                        batchSize: this.options.batchSize,
                        sequences: 1,
                        threads: this.runtime.threads,
                        flashAttention: this.options.flashAttention,
                        lora: mix.loras.length > 0 ? {adapters: mix.loras.map((l) => ({...l}))} : undefined,
                    })
                    .then(resolve, reject);
        });
        const slot: Slot = {
            key: `${mix.key}@${contextSize}`,
            mix,
            contextSize,
            bytes: this.options.contextBytes(contextSize),
            loraBytes,
            context,
            start: () => {
                for (const [path, bytes] of loraBytes)
                    if (!this.loras.has(path)) {
                        this.loras.set(path, {bytes, unloading: null, pinned: false});
                        this.addResident(bytes);
                    }
                slot.started = true;
                this.residentContexts++;
                this.addResident(slot.bytes);
                begin();
            },
            abandon,
            started: false,
            held: true,
            queue: [],
        };
        // A mix that cannot be created is forgotten at once: whoever waits for it gets the
        // error, and the next request tries again.
        context.catch(() => {
            if (this.slots.get(slot.key) === slot) this.slots.delete(slot.key);
            this.free(slot);
        });
        this.slots.set(slot.key, slot);
        this.waitingToStart.push(slot);
        this.startWaiting();
        return slot;
    }

    /**
     * Starts every waiting creation whose memory is free now: its context and the LoRAs not yet
     * loaded fit beside everything resident (or nothing else is resident), and none of its LoRAs
     * is still being unloaded.
     */
    private startWaiting(): void {
        const maxContexts = this.options.maxContexts ?? Number.POSITIVE_INFINITY;
        for (const slot of [...this.waitingToStart]) {
            if (this.slots.get(slot.key) !== slot) {
                this.waitingToStart.splice(this.waitingToStart.indexOf(slot), 1);
                continue;
            }
            let bytes = slot.bytes;
            let unloading = false;
            for (const [path, loraBytes] of slot.loraBytes) {
                const lora = this.loras.get(path);
                if (lora === undefined) bytes += loraBytes;
                else if (lora.unloading !== null) unloading = true;
            }
            const alone = this.residentContexts === 0;
            const fits = this.residentBytes + bytes <= this.options.memoryBudgetBytes || alone;
            if (unloading) continue;
            if (!fits || this.residentContexts >= maxContexts) {
                // The plan that made this slot counted on memory that did not come free (a LoRA
                // this runtime could not unload): make room from idle contexts, one at a time.
                const freeing = this.releasing > 0 || [...this.loras.values()].some((lora) => lora.unloading !== null);
                if (!freeing) this.evictIdleForWaiting();
                continue;
            }
            this.waitingToStart.splice(this.waitingToStart.indexOf(slot), 1);
            slot.start();
        }
    }

    private evictIdleForWaiting(): void {
        for (const slot of this.slots.values())
            if (slot.started && !slot.held && slot.queue.length === 0) {
                this.evict(slot);
                return;
            }
    }

    private addResident(bytes: number): void {
        this.residentBytes += bytes;
        this.peakResidentBytes = Math.max(this.peakResidentBytes, this.residentBytes);
    }

    /** Removes an idle slot and frees its context, then the LoRAs no slot uses any more. */
    private evict(slot: Slot): void {
        this.slots.delete(slot.key);
        this.releasing++;
        void slot.context
            .then((context) => context.dispose())
            .catch(() => undefined)
            .finally(() => {
                this.releasing--;
                this.free(slot);
            });
    }

    /** Counts a started slot's memory as freed, and unloads the LoRAs no remaining slot uses. */
    private free(slot: Slot): void {
        if (slot.started) {
            slot.started = false;
            this.residentContexts--;
            this.residentBytes -= slot.bytes;
        }
        for (const path of slot.loraBytes.keys()) this.unloadIfUnused(path);
        this.changed();
    }

    private unloadIfUnused(path: string): void {
        const lora = this.loras.get(path);
        // After dispose the model frees every LoRA itself.
        if (this.disposed || lora === undefined || lora.unloading !== null || lora.pinned) return;
        for (const slot of this.slots.values()) if (slot.loraBytes.has(path)) return;
        lora.unloading = this.runtime
            .unloadLora(path)
            .catch(() => false)
            .then((unloaded) => {
                lora.unloading = null;
                if (unloaded) {
                    this.loras.delete(path);
                    this.residentBytes -= lora.bytes;
                } else lora.pinned = true;
                this.changed();
            });
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
        this.changed();
    }

    private changed(): void {
        this.startWaiting();
        const waiters = [...this.capacityWaiters];
        this.capacityWaiters.clear();
        for (const wake of waiters) wake();
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

    async dispose(): Promise<void> {
        this.disposed = true;
        const slots = [...this.slots.values()];
        this.slots.clear();
        this.waitingToStart.length = 0;
        for (const slot of slots) if (!slot.started) slot.abandon(new Error("The context pool is disposed."));
        this.changed();
        await Promise.all(slots.map((slot) => disposeQuietly(slot.context)));
    }
}

async function fileBytes(path: string): Promise<number> {
    return (await stat(path)).size;
}

/** Frees a context; one that failed to be created has nothing to free. */
async function disposeQuietly(context: Promise<LlamaContext>): Promise<void> {
    const created = await context.catch(() => null);
    await created?.dispose();
}
