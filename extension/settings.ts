// The extension's settings as one typed value, and the engine configuration they make. Pure:
// the caller passes a getter over `workspace.getConfiguration("composer")`. In an untrusted
// workspace VS Code itself drops workspace values of the settings package.json lists under
// `capabilities.untrustedWorkspaces.restrictedConfigurations` (model and adapter paths), so a
// cloned repository cannot point the engine at files of its choosing.

import {isAbsolute} from "node:path";
import {engineConfig, installedPack, type PackDirs} from "../engine/config";
import type {EngineConfig} from "../engine/engine";
import {DEFAULT_ENGINE_LIMITS} from "../engine/limits";
import type {CachePaths} from "../engine/model/paths";
import {METHOD_CHOICES, type MethodChoiceName} from "./builder/messages";
import {OUTPUT_MODES, type OutputMode} from "./review/outputPlan";

export interface ComposerSettings {
    /** "default", a local GGUF path, or an hf:/https URI. */
    readonly baseModel: string;
    readonly adapterDirectories: readonly string[];
    /** 0: let the engine choose (capped at the machine's cores). */
    readonly threads: number;
    /** The largest context; a request gets the smallest that holds it. */
    readonly contextSize: number;
    /** MiB the warm contexts and their adapters may hold beyond the base model (runtime/contextPool.ts). */
    readonly contextMemoryMB: number;
    /** 0: each task's own budget (engine/compose/length.ts); else a limit on every generation. */
    readonly maxTokens: number;
    /** "auto": each task's own place (review/outputPlan.ts); any other value overrides it. */
    readonly outputMode: OutputMode;
    readonly defaultMethod: MethodChoiceName;
}

const MiB = 2 ** 20;

export const DEFAULT_SETTINGS: ComposerSettings = {
    baseModel: "default",
    adapterDirectories: [],
    threads: 0,
    contextSize: DEFAULT_ENGINE_LIMITS.contextSize,
    contextMemoryMB: DEFAULT_ENGINE_LIMITS.contextMemoryBytes / MiB,
    maxTokens: 0,
    outputMode: "auto",
    defaultMethod: "auto",
};

function integer(value: unknown, min: number, max: number, fallback: number): number {
    return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : fallback;
}

export function readSettings(get: (key: string) => unknown): ComposerSettings {
    const baseModel = get("baseModel");
    const dirs = get("adapterDirectories");
    const outputMode = get("outputMode");
    const method = get("defaultMethod");
    return {
        baseModel: typeof baseModel === "string" && baseModel.trim() !== "" ? baseModel.trim() : "default",
        adapterDirectories: Array.isArray(dirs)
            ? dirs.filter((dir): dir is string => typeof dir === "string" && isAbsolute(dir))
            : [],
        threads: integer(get("threads"), 0, 256, DEFAULT_SETTINGS.threads),
        contextSize: integer(get("contextSize"), 256, 32768, DEFAULT_SETTINGS.contextSize),
        contextMemoryMB: integer(get("contextMemoryMB"), 16, 65536, DEFAULT_SETTINGS.contextMemoryMB),
        maxTokens: integer(get("maxTokens"), 0, 4096, DEFAULT_SETTINGS.maxTokens),
        outputMode: (OUTPUT_MODES as readonly unknown[]).includes(outputMode)
            ? (outputMode as OutputMode)
            : DEFAULT_SETTINGS.outputMode,
        defaultMethod: (METHOD_CHOICES as readonly unknown[]).includes(method)
            ? (method as MethodChoiceName)
            : DEFAULT_SETTINGS.defaultMethod,
    };
}

/** Where the engine finds the pack: the extension's bundled one, the user's folders, the user's cache. */
export function packFor(settings: ComposerSettings, extensionRoot: string, cache: CachePaths): PackDirs {
    return installedPack(extensionRoot, cache, settings.adapterDirectories);
}

/** The engine's configuration from the settings (0 for threads or maxTokens: the engine's own choice). */
export function engineConfigFor(
    settings: ComposerSettings,
    modelPath: string,
    extensionRoot: string,
    cache: CachePaths,
): EngineConfig {
    return engineConfig(modelPath, packFor(settings, extensionRoot, cache), {
        ...(settings.threads > 0 ? {threads: settings.threads} : {}),
        contextSize: settings.contextSize,
        contextMemoryBytes: settings.contextMemoryMB * MiB,
        ...(settings.maxTokens > 0 ? {maxTokens: settings.maxTokens} : {}),
    });
}

/** Settings whose change needs a new engine process (the others, maxTokens included, are read per request). */
export const ENGINE_SETTINGS = [
    "baseModel",
    "adapterDirectories",
    "threads",
    "contextSize",
    "contextMemoryMB",
] as const;
