// The loaded base model: one llama.cpp instance and one model, shared by every context.

import {cpus} from "node:os";
import {resolve} from "node:path";
import {getLlama, type Llama, LlamaLogLevel, type LlamaModel} from "node-llama-cpp";

export interface RuntimeOptions {
    readonly modelPath: string;
    /** Capped at the machine's cores: more threads than cores made generation 100x slower here. Default: cores - 1. */
    readonly threads?: number;
    readonly onLog?: (level: string, message: string) => void;
}

export interface LlamaRuntime {
    readonly llama: Llama;
    readonly model: LlamaModel;
    readonly threads: number;
    /**
     * Frees a loaded LoRA file that no live context uses. True when it is not in memory any
     * more (or never was); false when this node-llama-cpp cannot free it, so it stays.
     */
    unloadLora(filePath: string): Promise<boolean>;
    /**
     * Does now, once per process and shape, what the first context of this shape would otherwise
     * wait for: node-llama-cpp simulates every new context shape in llama.cpp to estimate its
     * memory (`GgufInsights._simulateContextResourceUsage`, ~450 ms on this machine) and caches
     * the estimate by shape. The arguments are the ones `LlamaModel.createContext` passes for
     * these options, so its own call finds the estimate cached.
     */
    estimateContext(shape: ContextShape): Promise<void>;
    dispose(): Promise<void>;
}

/** What makes two contexts the same to node-llama-cpp's estimate (the pool's createContext options). */
export interface ContextShape {
    readonly contextSize: number;
    readonly batchSize: number;
    readonly flashAttention: boolean;
}

/**
 * Default: all cores but one, left to the editor. llama.cpp's threads wait for each other at
 * every step, so one busy core stalls them all: on 2 cores with one busy, 2 threads took 61.7 s
 * for 45 tokens where 1 thread took 2.4 s (measured here).
 */
export function effectiveThreads(requested: number | undefined): number {
    const cores = Math.max(1, cpus().length);
    if (requested === undefined || requested <= 0) return Math.max(1, cores - 1);
    return Math.min(requested, cores);
}

export async function openRuntime(options: RuntimeOptions): Promise<LlamaRuntime> {
    const threads = effectiveThreads(options.threads);
    const llama = await getLlama({
        gpu: false,
        build: "never",
        maxThreads: threads,
        logLevel: LlamaLogLevel.warn,
        logger: (level, message) => options.onLog?.(String(level), message.trimEnd()),
    });
    const model = await llama.loadModel({modelPath: options.modelPath});
    return {
        llama,
        model,
        threads,
        unloadLora: (filePath) => unloadLora(model, filePath),
        async estimateContext({contextSize, batchSize, flashAttention}) {
            await model.fileInsights.estimateContextResourceRequirementsV2({
                contextSize,
                batchSize,
                sequences: 1,
                modelGpuLayers: model.gpuLayers,
                flashAttention,
                kvCacheKeyType: model.defaultContextKvCacheKeyType,
                kvCacheValueType: model.defaultContextKvCacheValueType,
                swaFullCache: model.defaultContextSwaFullCache,
            });
        },
        async dispose() {
            await model.dispose();
            await llama.dispose();
        },
    };
}

/**
 * node-llama-cpp 3.21.1 keeps every LoRA it loads until the model is disposed
 * (`LlamaModel._loraAdapters`, keyed by the resolved path, never pruned), so every composite
 * ever used would stay in memory (a fused LC++ composite is 22 MB, read into memory, not
 * mapped). llama.cpp frees an adapter on request (`llama_adapter_lora_free`, which
 * `AddonModelLora.dispose` calls); only the public call is missing. The caller must make sure no
 * live context uses the file, and none is being created with it. This uses node-llama-cpp
 * internals, checked here: on a version without them it frees nothing and says so (false).
 */
async function unloadLora(model: LlamaModel, filePath: string): Promise<boolean> {
    const loaded = (model as unknown as {_loraAdapters?: unknown})._loraAdapters;
    if (!(loaded instanceof Map)) return false;
    const key = resolve(process.cwd(), filePath);
    const lora: unknown = loaded.get(key);
    if (lora === undefined) return true;
    const dispose = (lora as {dispose?: unknown}).dispose;
    if (typeof dispose !== "function") return false;
    loaded.delete(key);
    await (dispose as () => Promise<void>).call(lora);
    return true;
}
