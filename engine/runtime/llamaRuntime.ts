// The loaded base model: one llama.cpp instance and one model, shared by every context.

import {cpus} from "node:os";
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
    dispose(): Promise<void>;
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
        async dispose() {
            await model.dispose();
            await llama.dispose();
        },
    };
}
