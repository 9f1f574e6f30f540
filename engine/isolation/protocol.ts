// Messages between the engine process and its callers (extension, CLI), over Node IPC.
// Both sides validate what they receive: a malformed message is a bug to report, not to guess at.
// The shapes are checked here; what the values mean (an https URL, a valid adapter) is checked
// once, by the engine code that uses them.

import type {ComposeResult} from "../compose/composer";
import {type MethodChoice, parseMethodChoice} from "../compose/methods";
import type {
    AdapterSource,
    AdapterSummary,
    ChainCapability,
    EngineConfig,
    EngineStatus,
    ValidAdapterSummary,
} from "../engine";
import type {ModelFetchProgress} from "../model/fetch";
import type {BaseModelSetting} from "../model/setting";
import type {PreparationReport} from "../preparation";

export type HostRequest =
    | {readonly id: number; readonly kind: "open"; readonly config: EngineConfig}
    | {
          readonly id: number;
          readonly kind: "compose";
          readonly chain: string;
          readonly method: MethodChoice;
          readonly input: string;
          readonly maxTokens?: number;
      }
    | {readonly id: number; readonly kind: "cancel"; readonly target: number}
    | {readonly id: number; readonly kind: "capabilities"}
    | {readonly id: number; readonly kind: "status"}
    | {readonly id: number; readonly kind: "refresh"}
    /** Waits for the engine's background preparation (engine/preparation.ts) and returns its report. */
    | {readonly id: number; readonly kind: "preparation"}
    // Installed adapters, checked against the open engine's base model.
    | {readonly id: number; readonly kind: "adapters.list"}
    | {readonly id: number; readonly kind: "adapters.verify"; readonly adapterId: string}
    | {
          readonly id: number;
          readonly kind: "adapters.install";
          readonly source: AdapterSource;
          readonly replace: boolean;
      }
    | {readonly id: number; readonly kind: "adapters.remove"; readonly adapterId: string}
    /** Needs no open engine: it is how a first run gets its model. Streams "progress". */
    | {readonly id: number; readonly kind: "model.fetch"; readonly model: BaseModelSetting; readonly modelsDir: string};

export interface SerializedError {
    readonly name: string;
    readonly message: string;
    readonly code?: string;
}

export type HostReply =
    | {readonly id: number; readonly kind: "text"; readonly text: string; readonly pass: number}
    | {
          readonly id: number;
          readonly kind: "prompt";
          readonly evaluated: number;
          readonly total: number;
          readonly pass: number;
      }
    /** A text taken in several generations (segments, summary parts): done of total. */
    | {readonly id: number; readonly kind: "step"; readonly done: number; readonly total: number}
    /** How far a model fetch is. */
    | ({readonly id: number; readonly kind: "progress"} & ModelFetchProgress)
    | {readonly id: number; readonly kind: "done"; readonly value: unknown}
    | {readonly id: number; readonly kind: "failed"; readonly error: SerializedError}
    | {readonly kind: "log"; readonly level: string; readonly message: string}
    /** The heartbeat: the engine process runs and its event loop turns (see HEARTBEAT_MS). */
    | {readonly kind: "alive"};

/**
 * How often the engine process sends "alive". Its event loop stays free while llama.cpp works
 * (evaluation runs on other threads), so a missing heartbeat means a stopped or stuck process;
 * a native stall shows as missing progress instead (engineClient.ts, LivenessBounds).
 */
export const HEARTBEAT_MS = 1000;

/** What each request resolves to on the caller's side. */
export interface ReplyValues {
    open: EngineStatus;
    compose: ComposeResult;
    cancel: null;
    capabilities: ChainCapability[];
    status: EngineStatus;
    refresh: EngineStatus;
    preparation: PreparationReport | null;
    "adapters.list": AdapterSummary[];
    "adapters.verify": ValidAdapterSummary;
    "adapters.install": {readonly adapter: ValidAdapterSummary; readonly status: EngineStatus};
    "adapters.remove": EngineStatus;
    "model.fetch": {readonly path: string};
}

export class ProtocolError extends Error {
    override name = "ProtocolError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requireNumber(message: Record<string, unknown>, key: string): number {
    const value = message[key];
    if (typeof value !== "number" || !Number.isInteger(value))
        throw new ProtocolError(`"${key}" must be an integer, got ${JSON.stringify(value)}.`);
    return value;
}

function requireString(message: Record<string, unknown>, key: string): string {
    const value = message[key];
    if (typeof value !== "string") throw new ProtocolError(`"${key}" must be a string, got ${typeof value}.`);
    return value;
}

function requireRecord(message: Record<string, unknown>, key: string): Record<string, unknown> {
    const value = message[key];
    if (!isRecord(value)) throw new ProtocolError(`"${key}" must be an object.`);
    return value;
}

function requireOneOf<T extends string>(message: Record<string, unknown>, key: string, allowed: readonly T[]): T {
    const value = message[key];
    if (!(allowed as readonly unknown[]).includes(value))
        throw new ProtocolError(`"${key}" must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}.`);
    return value as T;
}

function parseAdapterSource(message: Record<string, unknown>): AdapterSource {
    const source = requireRecord(message, "source");
    switch (requireOneOf(source, "kind", ["folder", "url"] as const)) {
        case "folder":
            return {kind: "folder", path: requireString(source, "path")};
        case "url":
            return {kind: "url", url: requireString(source, "url"), sha256: requireString(source, "sha256")};
    }
}

function parseModelSetting(message: Record<string, unknown>): BaseModelSetting {
    const model = requireRecord(message, "model");
    switch (requireOneOf(model, "kind", ["default", "known", "file", "uri"] as const)) {
        case "default":
            return {kind: "default"};
        case "known":
            return {kind: "known", id: requireString(model, "id")};
        case "file":
            return {kind: "file", path: requireString(model, "path")};
        case "uri": {
            const sha256 = model.sha256;
            if (sha256 !== undefined && typeof sha256 !== "string")
                throw new ProtocolError(`"sha256" must be a string when given, got ${typeof sha256}.`);
            return {kind: "uri", uri: requireString(model, "uri"), ...(sha256 === undefined ? {} : {sha256})};
        }
    }
}

export function parseHostRequest(message: unknown): HostRequest {
    if (!isRecord(message)) throw new ProtocolError("A request must be an object.");
    const id = requireNumber(message, "id");
    const kind = message.kind;
    switch (kind) {
        case "open":
            if (!isRecord(message.config)) throw new ProtocolError(`"config" must be an object.`);
            return {id, kind, config: message.config as unknown as EngineConfig};
        case "compose": {
            const maxTokens = message.maxTokens;
            if (maxTokens !== undefined && (typeof maxTokens !== "number" || !(maxTokens >= 1 && maxTokens <= 4096)))
                throw new ProtocolError(`"maxTokens" must be between 1 and 4096.`);
            return {
                id,
                kind,
                chain: requireString(message, "chain"),
                method: parseMethodChoice(requireString(message, "method")),
                input: requireString(message, "input"),
                ...(maxTokens === undefined ? {} : {maxTokens}),
            };
        }
        case "cancel":
            return {id, kind, target: requireNumber(message, "target")};
        case "capabilities":
        case "status":
        case "refresh":
        case "preparation":
        case "adapters.list":
            return {id, kind};
        case "adapters.verify":
        case "adapters.remove":
            return {id, kind, adapterId: requireString(message, "adapterId")};
        case "adapters.install": {
            const replace = message.replace;
            if (typeof replace !== "boolean")
                throw new ProtocolError(`"replace" must be a boolean, got ${JSON.stringify(replace)}.`);
            return {id, kind, source: parseAdapterSource(message), replace};
        }
        case "model.fetch":
            return {id, kind, model: parseModelSetting(message), modelsDir: requireString(message, "modelsDir")};
        default:
            throw new ProtocolError(`Unknown request kind ${JSON.stringify(kind)}.`);
    }
}

export function parseHostReply(message: unknown): HostReply {
    if (!isRecord(message)) throw new ProtocolError("A reply must be an object.");
    switch (message.kind) {
        case "log":
            return {kind: "log", level: requireString(message, "level"), message: requireString(message, "message")};
        case "alive":
            return {kind: "alive"};
        case "text":
            return {
                kind: "text",
                id: requireNumber(message, "id"),
                text: requireString(message, "text"),
                pass: requireNumber(message, "pass"),
            };
        case "prompt":
            return {
                kind: "prompt",
                id: requireNumber(message, "id"),
                evaluated: requireNumber(message, "evaluated"),
                total: requireNumber(message, "total"),
                pass: requireNumber(message, "pass"),
            };
        case "step":
            return {
                kind: "step",
                id: requireNumber(message, "id"),
                done: requireNumber(message, "done"),
                total: requireNumber(message, "total"),
            };
        case "progress":
            return {
                kind: "progress",
                id: requireNumber(message, "id"),
                step: requireOneOf(message, "step", ["download", "assemble", "verify", "derive"] as const),
                unit: requireOneOf(message, "unit", ["bytes", "parts"] as const),
                done: requireNumber(message, "done"),
                total: requireNumber(message, "total"),
            };
        case "done":
            return {kind: "done", id: requireNumber(message, "id"), value: message.value};
        case "failed": {
            const error = message.error;
            if (!isRecord(error)) throw new ProtocolError(`"error" must be an object.`);
            return {
                kind: "failed",
                id: requireNumber(message, "id"),
                error: {
                    name: requireString(error, "name"),
                    message: requireString(error, "message"),
                    ...(typeof error.code === "string" ? {code: error.code} : {}),
                },
            };
        }
        default:
            throw new ProtocolError(`Unknown reply kind ${JSON.stringify(message.kind)}.`);
    }
}

export function serializeError(error: unknown): SerializedError {
    if (error instanceof Error) {
        const code = (error as {code?: unknown}).code;
        return {name: error.name, message: error.message, ...(typeof code === "string" ? {code} : {})};
    }
    return {name: "Error", message: String(error)};
}
