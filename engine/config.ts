// Every EngineConfig is made here: where the engine finds its files, and its limits with the
// defaults (limits.ts) applied in this one place. The CLI, the extension, the benchmark and the
// tests call engineConfig; none writes an EngineConfig by hand.

import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";
import type {EngineConfig} from "./engine";
import {DEFAULT_ENGINE_LIMITS} from "./limits";
import {type CachePaths, cachePaths} from "./model/paths";
import type {Decoding} from "./runtime/decoding";

/** The folder holding package.json, adapters/ and calibrations/, from a bundle's import.meta.url (dist/ sits just below it). */
export function packageRoot(bundleUrl: string): string {
    return dirname(dirname(fileURLToPath(bundleUrl)));
}

export function hostScriptPath(root: string): string {
    return join(root, "dist", "engine-host.js");
}

/** Where the engine finds adapters and calibrations, and where it writes. */
export interface PackDirs {
    /** Read-only adapter folders (the bundled pack first), searched after the user folder. */
    readonly adapterDirs: readonly string[];
    /** Where installed adapters go. */
    readonly userAdapterDir: string;
    readonly calibrationDirs: readonly string[];
    /** Expanded calibrations and other derived files. */
    readonly cacheDir: string;
}

/** The pack as a user has it: the bundled one next to the code, then the user's cache. */
export function installedPack(
    root: string,
    cache: CachePaths = cachePaths(),
    extraAdapterDirs: readonly string[] = [],
): PackDirs {
    return {
        adapterDirs: [join(root, "adapters"), ...extraAdapterDirs],
        userAdapterDir: cache.userAdapters,
        calibrationDirs: [join(root, "calibrations"), join(cache.root, "calibrations")],
        cacheDir: cache.expanded,
    };
}

/**
 * A pack in folders of its own (crafted by the benchmark or a test, or none at all): installs
 * and expanded calibrations go under `workDir`, away from the user's cache.
 */
export function packIn(
    workDir: string,
    dirs: {readonly adapterDirs?: readonly string[]; readonly calibrationDirs?: readonly string[]} = {},
): PackDirs {
    return {
        adapterDirs: dirs.adapterDirs ?? [],
        userAdapterDir: join(workDir, "user-adapters"),
        calibrationDirs: dirs.calibrationDirs ?? [],
        cacheDir: join(workDir, "expanded"),
    };
}

/** What a caller may set; anything absent takes DEFAULT_ENGINE_LIMITS or the engine's own choice. */
export interface EngineLimits {
    /** Absent: the engine chooses (capped at the machine's cores). */
    readonly threads?: number;
    readonly contextSize?: number;
    readonly batchSize?: number;
    /** What warm contexts and their LoRA files may hold in memory, beyond the base model. */
    readonly contextMemoryBytes?: number;
    /** A cap on the number of warm contexts as well; absent: memory alone bounds them. */
    readonly maxContexts?: number;
    /** Absent: each task's own budget (compose/length.ts). */
    readonly maxTokens?: number;
    readonly flashAttention?: boolean;
    /** Absent: DECODING (runtime/decoding.ts). */
    readonly decoding?: Decoding;
}

export function engineConfig(modelPath: string, pack: PackDirs, limits: EngineLimits = {}): EngineConfig {
    return {
        modelPath,
        adapterDirs: [...pack.adapterDirs],
        userAdapterDir: pack.userAdapterDir,
        calibrationDirs: [...pack.calibrationDirs],
        cacheDir: pack.cacheDir,
        ...(limits.threads === undefined ? {} : {threads: limits.threads}),
        contextSize: limits.contextSize ?? DEFAULT_ENGINE_LIMITS.contextSize,
        batchSize: limits.batchSize ?? DEFAULT_ENGINE_LIMITS.batchSize,
        contextMemoryBytes: limits.contextMemoryBytes ?? DEFAULT_ENGINE_LIMITS.contextMemoryBytes,
        ...(limits.maxContexts === undefined ? {} : {maxContexts: limits.maxContexts}),
        ...(limits.maxTokens === undefined ? {} : {maxTokens: limits.maxTokens}),
        flashAttention: limits.flashAttention ?? DEFAULT_ENGINE_LIMITS.flashAttention,
        ...(limits.decoding === undefined ? {} : {decoding: limits.decoding}),
    };
}
