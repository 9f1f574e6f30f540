// Where a running engine finds its files: the bundled pack next to the code, the user's
// cache, and the limits. Callers (CLI, extension) build an EngineConfig here and pass it on.

import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";
import type {EngineConfig} from "./engine";
import {DEFAULT_ENGINE_LIMITS} from "./limits";
import {cachePaths} from "./model/paths";

/** The folder holding package.json, adapters/ and calibrations/ (dist/ sits just below it). */
export function packageRoot(fromUrl: string = import.meta.url): string {
    return dirname(dirname(fileURLToPath(fromUrl)));
}

export interface ConfigOverrides {
    readonly threads?: number;
    readonly contextSize?: number;
    readonly maxContexts?: number;
    readonly maxTokens?: number;
    readonly flashAttention?: boolean;
    readonly extraAdapterDirs?: readonly string[];
    readonly cacheRoot?: string;
}

export function engineConfig(modelPath: string, root: string, overrides: ConfigOverrides = {}): EngineConfig {
    const cache = cachePaths(overrides.cacheRoot);
    return {
        modelPath,
        adapterDirs: [join(root, "adapters"), ...(overrides.extraAdapterDirs ?? [])],
        userAdapterDir: cache.userAdapters,
        calibrationDirs: [join(root, "calibrations"), join(cache.root, "calibrations")],
        cacheDir: cache.expanded,
        threads: overrides.threads,
        contextSize: overrides.contextSize ?? DEFAULT_ENGINE_LIMITS.contextSize,
        maxContexts: overrides.maxContexts ?? DEFAULT_ENGINE_LIMITS.maxContexts,
        ...(overrides.maxTokens === undefined ? {} : {maxTokens: overrides.maxTokens}),
        flashAttention: overrides.flashAttention ?? DEFAULT_ENGINE_LIMITS.flashAttention,
    };
}

export function hostScriptPath(root: string): string {
    return join(root, "dist", "engine-host.js");
}
