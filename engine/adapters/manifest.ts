// manifest.json of a task adapter (docs/formats.md section 2), parsed into typed values with an
// error naming the field for anything wrong, so a bad pack fails here and not inside llama.cpp.

import {MODULE_TYPES, type ModuleType} from "../calibrations/moduleTypes";
import {type ChainKey, chainKey, parseTaskChain, type TaskChain, TaskChainError} from "../compose/taskChain";
import {firstUnsafeCharacter, quote, show} from "../messages/quote";
import {AdapterValidationError} from "./errors";

export const ADAPTER_MANIFEST_FORMAT_VERSION = 1;
export const ADAPTER_MANIFEST_FILE = "manifest.json";

/**
 * What an adapter may target: the per-layer linear modules, plus the two whole-model tensors
 * llama.cpp also accepts LoRA on (token_embd with its special shape, and output).
 */
export const ADAPTER_TARGET_MODULES = [...MODULE_TYPES, "token_embd", "output"] as const;
export type AdapterTargetModule = ModuleType | "token_embd" | "output";

export const ADAPTER_ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
/**
 * An id is a folder name, and the store's scratch folders add ~30 characters to it
 * (".replaced-<id>-<pid>-<random>"); file names stop at 255 bytes on every common file system.
 */
export const ADAPTER_ID_MAX_LENGTH = 128;

/** Why `id` cannot be an adapter id (and folder name), or null. */
export function adapterIdProblem(id: string): string | null {
    if (id.length > ADAPTER_ID_MAX_LENGTH)
        return `is ${id.length} characters long; an adapter id has at most ${ADAPTER_ID_MAX_LENGTH}`;
    if (!ADAPTER_ID_PATTERN.test(id))
        return `must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit (${ADAPTER_ID_PATTERN.source})`;
    return null;
}
const HEX64 = /^[0-9a-f]{64}$/;

export interface AdapterManifest {
    readonly formatVersion: typeof ADAPTER_MANIFEST_FORMAT_VERSION;
    /** Also the adapter's folder name in an adapters directory. */
    readonly id: string;
    readonly task: TaskChain;
    /** Canonical form of `task`, e.g. "summarize+translate:fr". */
    readonly chainKey: ChainKey;
    /** Contains `{input}` exactly once. */
    readonly promptTemplate: string;
    readonly stopStrings: readonly string[];
    readonly base: {readonly fingerprint: string; readonly name: string};
    readonly rank: number;
    readonly alpha: number;
    readonly targetModules: readonly AdapterTargetModule[];
    /** A file name inside the adapter directory (no path). */
    readonly file: string;
    /** Lower-case hex sha256 of `file`. */
    readonly sha256: string;
    readonly licence: string | undefined;
    /** Free-form record of how it was made. */
    readonly training: Readonly<Record<string, unknown>>;
    /**
     * Installed for the calibrations trained on it (they bind it by sha256): the task itself runs on
     * another adapter for it when one is installed (compose/recipe.ts, adapterFor). Default false.
     */
    readonly keptForCalibrations: boolean;
}

const KNOWN_FIELDS = new Set([
    "formatVersion",
    "id",
    "task",
    "promptTemplate",
    "stopStrings",
    "base",
    "rank",
    "alpha",
    "targetModules",
    "file",
    "sha256",
    "licence",
    "training",
    "keptForCalibrations",
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses and checks a manifest; `source` (usually the manifest's path) starts every error message. */
export function parseAdapterManifest(json: unknown, source: string): AdapterManifest {
    const invalid = (field: string, problem: string): AdapterValidationError =>
        new AdapterValidationError("manifest-invalid", `${source}: manifest field ${quote(field)} ${problem}`, field);

    if (!isPlainObject(json))
        throw new AdapterValidationError("manifest-invalid", `${source}: the manifest must be a JSON object`, "");
    for (const key of Object.keys(json)) {
        if (!KNOWN_FIELDS.has(key))
            throw invalid(key, `is not part of formatVersion ${ADAPTER_MANIFEST_FORMAT_VERSION} (typo?)`);
    }

    const requireString = (field: string): string => {
        const value = json[field];
        if (typeof value !== "string" || value.length === 0)
            throw invalid(field, `must be a non-empty string, got ${show(value)}`);
        return value;
    };

    if (json.formatVersion !== ADAPTER_MANIFEST_FORMAT_VERSION)
        throw invalid(
            "formatVersion",
            `must be ${ADAPTER_MANIFEST_FORMAT_VERSION}, got ${show(json.formatVersion)} (a newer engine may read it)`,
        );

    const id = requireString("id");
    const idProblem = adapterIdProblem(id);
    if (idProblem !== null) throw invalid("id", `${idProblem}, got ${show(id)}`);

    const taskText = requireString("task");
    let task: TaskChain;
    try {
        task = parseTaskChain(taskText);
    } catch (error) {
        if (error instanceof TaskChainError) throw invalid("task", `is not a task chain: ${error.message}`);
        throw error;
    }

    const promptTemplate = requireString("promptTemplate");
    const inputCount = promptTemplate.split("{input}").length - 1;
    if (inputCount !== 1) throw invalid("promptTemplate", `must contain {input} exactly once, found ${inputCount}`);

    let stopStrings: string[] = [];
    if (json.stopStrings !== undefined) {
        const value = json.stopStrings;
        if (!Array.isArray(value) || !value.every((s) => typeof s === "string" && s.length > 0))
            throw invalid("stopStrings", `must be an array of non-empty strings, got ${show(value)}`);
        stopStrings = value as string[];
    }

    if (!isPlainObject(json.base)) throw invalid("base", `must be an object, got ${show(json.base)}`);
    const {fingerprint, name} = json.base;
    if (typeof fingerprint !== "string" || !HEX64.test(fingerprint))
        throw invalid("base.fingerprint", `must be 64 lower-case hex digits, got ${show(fingerprint)}`);
    if (typeof name !== "string" || name.length === 0)
        throw invalid("base.name", `must be a non-empty string, got ${show(name)}`);

    const rank = json.rank;
    if (typeof rank !== "number" || !Number.isSafeInteger(rank) || rank < 1)
        throw invalid("rank", `must be a positive integer, got ${show(rank)}`);

    const alpha = json.alpha;
    if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0)
        throw invalid("alpha", `must be a positive number, got ${show(alpha)}`);

    const modules = json.targetModules;
    if (!Array.isArray(modules) || modules.length === 0)
        throw invalid("targetModules", `must be a non-empty array, got ${show(modules)}`);
    const targetModules: AdapterTargetModule[] = [];
    for (const module of modules) {
        if (!(ADAPTER_TARGET_MODULES as readonly unknown[]).includes(module))
            throw invalid(
                "targetModules",
                `has unknown module ${show(module)}; known: ${ADAPTER_TARGET_MODULES.join(", ")}`,
            );
        if (targetModules.includes(module as AdapterTargetModule))
            throw invalid("targetModules", `lists ${show(module)} twice`);
        targetModules.push(module as AdapterTargetModule);
    }

    const file = requireString("file");
    // A bare file name keeps a manifest from pointing outside its own directory.
    if (/[/\\]/.test(file) || file === "." || file === "..")
        throw invalid("file", `must be a file name inside the adapter directory, got ${show(file)}`);
    // No file system has names with NUL, and a control or bidi character would make paths in messages lie.
    const unsafe = firstUnsafeCharacter(file);
    if (unsafe !== null)
        throw invalid(
            "file",
            `must be a plain file name; ${show(file)} has a ${unsafe.kind} character (${unsafe.codePoint})`,
        );

    const sha256 = requireString("sha256");
    if (!HEX64.test(sha256)) throw invalid("sha256", `must be 64 lower-case hex digits, got ${show(sha256)}`);

    let licence: string | undefined;
    if (json.licence !== undefined) licence = requireString("licence");

    let training: Record<string, unknown> = {};
    if (json.training !== undefined) {
        if (!isPlainObject(json.training)) throw invalid("training", `must be an object, got ${show(json.training)}`);
        training = json.training;
    }

    const keptForCalibrations = json.keptForCalibrations ?? false;
    if (typeof keptForCalibrations !== "boolean")
        throw invalid("keptForCalibrations", `must be true or false, got ${show(keptForCalibrations)}`);

    return {
        formatVersion: ADAPTER_MANIFEST_FORMAT_VERSION,
        id,
        task,
        chainKey: chainKey(task),
        promptTemplate,
        stopStrings,
        base: {fingerprint, name},
        rank,
        alpha,
        targetModules,
        file,
        sha256,
        licence,
        training,
        keptForCalibrations,
    };
}
