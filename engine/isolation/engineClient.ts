// The caller's side of the engine process. Requests in flight when the process dies fail
// with EngineCrashedError; the next request starts a fresh process. Nothing ever waits forever.

import {type ChildProcess, fork} from "node:child_process";
import type {ComposeResult} from "../compose/composer";
import type {MethodChoice} from "../compose/methods";
import {chainKey, type TaskChain} from "../compose/taskChain";
import type {ChainCapability, EngineConfig, EngineStatus} from "../engine";
import {type HostReply, parseHostReply, type ReplyValues, type SerializedError} from "./protocol";

export class EngineCrashedError extends Error {
    override name = "EngineCrashedError";
}

/** An error raised inside the engine process, with its original name and code. */
export class EngineError extends Error {
    readonly code: string | undefined;
    constructor(serialized: SerializedError) {
        super(serialized.message);
        this.name = serialized.name;
        this.code = serialized.code;
    }
}

export interface EngineClientOptions {
    /** Path of the bundled engine-host.js. */
    readonly hostScript: string;
    readonly config: EngineConfig;
    readonly onLog?: (level: string, message: string) => void;
    /** The Node binary to run the host with (VS Code's extension host passes its own). */
    readonly execPath?: string;
}

/** What a compose call streams back while it runs. */
interface ComposeListeners {
    readonly onText?: (text: string, pass: number) => void;
    readonly onPrompt?: (evaluated: number, total: number, pass: number) => void;
}

interface Pending extends ComposeListeners {
    readonly resolve: (value: unknown) => void;
    readonly reject: (error: Error) => void;
}

interface HostProcess {
    readonly child: ChildProcess;
    readonly ready: Promise<unknown>;
}

export interface ComposeCall extends ComposeListeners {
    readonly chain: TaskChain;
    readonly method: MethodChoice;
    readonly input: string;
    readonly maxTokens?: number;
    readonly signal?: AbortSignal;
}

export class EngineClient {
    private host: HostProcess | null = null;
    private nextId = 1;
    private readonly pending = new Map<number, Pending>();
    private disposed = false;

    constructor(private readonly options: EngineClientOptions) {}

    /** The process id of the running engine, if one runs (tests kill it to simulate a crash). */
    get pid(): number | undefined {
        return this.host?.child.pid;
    }

    async status(): Promise<EngineStatus> {
        return this.call("status", {});
    }

    async capabilities(): Promise<ChainCapability[]> {
        return this.call("capabilities", {});
    }

    async refresh(): Promise<EngineStatus> {
        return this.call("refresh", {});
    }

    async compose(request: ComposeCall): Promise<ComposeResult> {
        const {signal, onText, onPrompt, chain, ...rest} = request;
        signal?.throwIfAborted();
        const host = await this.ensureHost();
        const id = this.nextId++;
        const done = this.send<"compose">(
            host.child,
            {id, kind: "compose", chain: chainKey(chain), ...rest},
            {
                onText,
                onPrompt,
            },
        );
        const cancel = () => host.child.send({id: this.nextId++, kind: "cancel", target: id});
        signal?.addEventListener("abort", cancel, {once: true});
        try {
            return await done;
        } finally {
            signal?.removeEventListener("abort", cancel);
        }
    }

    private async call<K extends "status" | "capabilities" | "refresh">(
        kind: K,
        extra: object,
    ): Promise<ReplyValues[K]> {
        const host = await this.ensureHost();
        return this.send<K>(host.child, {id: this.nextId++, kind, ...extra});
    }

    private send<K extends keyof ReplyValues>(
        child: ChildProcess,
        message: {id: number; kind: K} & Record<string, unknown>,
        listeners: ComposeListeners = {},
    ): Promise<ReplyValues[K]> {
        return new Promise<ReplyValues[K]>((resolve, reject) => {
            this.pending.set(message.id, {resolve: resolve as (value: unknown) => void, reject, ...listeners});
            child.send(message, (error) => {
                if (error)
                    this.settle(message.id, new EngineCrashedError(`Could not reach the engine: ${error.message}`));
            });
        });
    }

    private settle(id: number, outcome: Error | {value: unknown}): void {
        const pending = this.pending.get(id);
        if (pending === undefined) return;
        this.pending.delete(id);
        if (outcome instanceof Error) pending.reject(outcome);
        else pending.resolve(outcome.value);
    }

    private ensureHost(): Promise<HostProcess> {
        if (this.disposed) return Promise.reject(new Error("The engine client is disposed."));
        if (this.host === null) this.host = this.spawn();
        const host = this.host;
        return host.ready.then(() => host);
    }

    private spawn(): HostProcess {
        const child = fork(this.options.hostScript, [], {
            execPath: this.options.execPath ?? process.execPath,
            stdio: ["ignore", "ignore", "pipe", "ipc"],
            serialization: "json",
        });
        let stderrTail = "";
        child.stderr?.on("data", (chunk: Buffer) => {
            stderrTail = (stderrTail + chunk.toString("utf8")).slice(-2000);
        });
        child.on("message", (raw: unknown) => this.onReply(raw));
        child.on("exit", (code, signal) => {
            if (this.host?.child === child) this.host = null;
            const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
            const detail = stderrTail.trim().split("\n").slice(-3).join(" | ");
            const crash = new EngineCrashedError(
                `The engine process stopped (${how}) before answering${detail ? `: ${detail}` : ""}. The next request starts a new engine.`,
            );
            for (const id of [...this.pending.keys()]) this.settle(id, crash);
        });
        child.on("error", (error) => {
            for (const id of [...this.pending.keys()]) this.settle(id, new EngineCrashedError(error.message));
        });
        const host: HostProcess = {
            child,
            ready: this.send<"open">(child, {id: this.nextId++, kind: "open", config: this.options.config}),
        };
        // A failed open leaves no half-started engine behind.
        host.ready.catch(() => {
            if (this.host === host) this.host = null;
            child.kill();
        });
        return host;
    }

    private onReply(raw: unknown): void {
        let reply: HostReply;
        try {
            reply = parseHostReply(raw);
        } catch (error) {
            this.options.onLog?.("error", `Ignored a malformed engine message: ${(error as Error).message}`);
            return;
        }
        switch (reply.kind) {
            case "log":
                this.options.onLog?.(reply.level, reply.message);
                return;
            case "text":
                this.pending.get(reply.id)?.onText?.(reply.text, reply.pass);
                return;
            case "prompt":
                this.pending.get(reply.id)?.onPrompt?.(reply.evaluated, reply.total, reply.pass);
                return;
            case "done":
                this.settle(reply.id, {value: reply.value});
                return;
            case "failed":
                this.settle(reply.id, new EngineError(reply.error));
                return;
        }
    }

    /** Stops the engine process (a crash for anything in flight). */
    kill(signal: NodeJS.Signals = "SIGKILL"): void {
        this.host?.child.kill(signal);
    }

    async dispose(): Promise<void> {
        this.disposed = true;
        const child = this.host?.child;
        this.host = null;
        if (child === undefined || child.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.disconnect();
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
    }
}
