// The caller's side of the engine process. Requests in flight when the process dies fail
// with EngineCrashedError; the next request starts a fresh process. Nothing ever waits forever:
// a process that stops answering (stopped, stuck event loop) or stops making progress (a native
// deadlock or endless loop) while work is in flight is killed and its requests fail with
// EngineUnresponsiveError; a cancel ends the request at once, and an engine that does not
// acknowledge it in time is killed too.

import {type ChildProcess, fork} from "node:child_process";
import type {ComposeResult} from "../compose/composer";
import type {MethodChoice} from "../compose/methods";
import {chainKey, type TaskChain} from "../compose/taskChain";
import type {ChainCapability, EngineConfig, EngineStatus} from "../engine";
import {type HostReply, parseHostReply, type ReplyValues, type SerializedError} from "./protocol";

export class EngineCrashedError extends Error {
    override name = "EngineCrashedError";
}

/** The engine process was alive but stopped answering or making progress, so it was killed. */
export class EngineUnresponsiveError extends EngineCrashedError {
    override name = "EngineUnresponsiveError";
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

/**
 * How long the engine may stay quiet while work is in flight. Measured on a shared 2-core VM
 * (default model, bundled pack, 1 and 2 threads, load average 3-17): the heartbeat came at most
 * 1.9 s apart; the longest gap between progress messages was 14.4 s (three requests on one cold
 * LC++ context, a 1,300-token input: expansion, context creation and a 512-token batch), and
 * 5-6 s for one request; opening the engine took 2.5-11 s with heartbeats all along. With more
 * threads than free cores llama.cpp slows down by orders of magnitude, hence the wide stall
 * bound. A cancel lands within one batch or token. Tests pass shorter bounds.
 */
export interface LivenessBounds {
    /** No message at all, heartbeat included: the process is stopped or its event loop is stuck. */
    readonly silenceMs: number;
    /** No progress (a reply, streamed text, a prompt batch): llama.cpp's work is stuck. */
    readonly stallMs: number;
    /** After a cancel, how long the engine may take to wind the request down. */
    readonly cancelMs: number;
}

export const DEFAULT_LIVENESS: LivenessBounds = {silenceMs: 15_000, stallMs: 120_000, cancelMs: 30_000};

export interface EngineClientOptions {
    /** Path of the bundled engine-host.js. */
    readonly hostScript: string;
    readonly config: EngineConfig;
    readonly onLog?: (level: string, message: string) => void;
    /** The Node binary to run the host with (VS Code's extension host passes its own). */
    readonly execPath?: string;
    /** Overrides of DEFAULT_LIVENESS (tests use short ones). */
    readonly liveness?: Partial<LivenessBounds>;
}

/** What a compose call streams back while it runs. */
interface ComposeListeners {
    readonly onText?: (text: string, pass: number) => void;
    readonly onPrompt?: (evaluated: number, total: number, pass: number) => void;
    readonly onStep?: (done: number, total: number) => void;
}

/** A request sent to one engine process. */
interface InFlight extends ComposeListeners {
    readonly resolve: (value: unknown) => void;
    readonly reject: (error: Error) => void;
    /** Set when the caller cancelled: the caller has its answer, the engine must wind down by then. */
    windDownBy?: number;
}

interface HostProcess {
    readonly child: ChildProcess;
    /** The "open" request (set right after the process starts, as sending it needs this object). */
    ready: Promise<unknown>;
    /** Requests this process owes an answer, cancelled ones included. */
    readonly inFlight: Map<number, InFlight>;
    /** When this process last sent anything / anything but the heartbeat. */
    lastHeard: number;
    lastProgress: number;
    /** Set once this process is being killed; nothing more is sent to it. */
    doomed: boolean;
}

export interface ComposeCall extends ComposeListeners {
    readonly chain: TaskChain;
    readonly method: MethodChoice;
    readonly input: string;
    readonly maxTokens?: number;
    readonly signal?: AbortSignal;
}

function cancelledError(): EngineError {
    return new EngineError({
        name: "ComposeCancelledError",
        message: "Composition was cancelled; nothing was produced.",
    });
}

function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(1)} s`;
}

export class EngineClient {
    private host: HostProcess | null = null;
    /** Every engine process not yet exited: the current one, and any being stopped or closed. */
    private readonly processes = new Set<ChildProcess>();
    private nextId = 1;
    private disposed = false;
    private readonly liveness: LivenessBounds;
    private readonly tickMs: number;

    constructor(private readonly options: EngineClientOptions) {
        this.liveness = {...DEFAULT_LIVENESS, ...options.liveness};
        const shortest = Math.min(this.liveness.silenceMs, this.liveness.stallMs, this.liveness.cancelMs);
        this.tickMs = Math.min(1000, Math.max(50, shortest / 5));
    }

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
        const {signal, onText, onPrompt, onStep, chain, ...rest} = request;
        if (signal?.aborted) throw cancelledError();
        // A cancel while the engine starts ends the call too (the engine goes on starting).
        const host = await this.untilAborted(this.ensureHost(), signal);
        const id = this.nextId++;
        const done = this.send<"compose">(
            host,
            {id, kind: "compose", chain: chainKey(chain), ...rest},
            {onText, onPrompt, onStep},
        );
        const cancel = () => {
            const request = host.inFlight.get(id);
            if (request === undefined || request.windDownBy !== undefined) return;
            // The caller gets its answer now; the engine gets cancelMs to stop (one token or
            // one prompt batch), else the liveness check kills it.
            request.windDownBy = Date.now() + this.liveness.cancelMs;
            request.reject(cancelledError());
            if (!host.doomed) host.child.send({id: this.nextId++, kind: "cancel", target: id}, () => {});
        };
        signal?.addEventListener("abort", cancel, {once: true});
        try {
            return await done;
        } finally {
            signal?.removeEventListener("abort", cancel);
        }
    }

    private untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
        if (signal === undefined) return promise;
        return new Promise<T>((resolve, reject) => {
            const aborted = () => reject(cancelledError());
            signal.addEventListener("abort", aborted, {once: true});
            promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", aborted));
        });
    }

    private async call<K extends "status" | "capabilities" | "refresh">(
        kind: K,
        extra: object,
    ): Promise<ReplyValues[K]> {
        const host = await this.ensureHost();
        return this.send<K>(host, {id: this.nextId++, kind, ...extra});
    }

    private send<K extends keyof ReplyValues>(
        host: HostProcess,
        message: {id: number; kind: K} & Record<string, unknown>,
        listeners: ComposeListeners = {},
    ): Promise<ReplyValues[K]> {
        return new Promise<ReplyValues[K]>((resolve, reject) => {
            if (host.doomed) {
                reject(new EngineCrashedError("The engine was stopped; the next request starts a new one."));
                return;
            }
            // Quiet time while nothing was asked of the engine does not count against it.
            if (host.inFlight.size === 0) host.lastHeard = host.lastProgress = Date.now();
            host.inFlight.set(message.id, {resolve: resolve as (value: unknown) => void, reject, ...listeners});
            host.child.send(message, (error) => {
                if (error)
                    this.answer(
                        host,
                        message.id,
                        new EngineCrashedError(`Could not reach the engine: ${error.message}`),
                    );
            });
        });
    }

    /** Ends a request with the engine's answer (a cancelled request was already answered). */
    private answer(host: HostProcess, id: number, outcome: Error | {value: unknown}): void {
        const request = host.inFlight.get(id);
        if (request === undefined) return;
        host.inFlight.delete(id);
        if (request.windDownBy !== undefined) return;
        if (outcome instanceof Error) request.reject(outcome);
        else request.resolve(outcome.value);
    }

    private failAll(host: HostProcess, error: Error): void {
        for (const id of [...host.inFlight.keys()]) this.answer(host, id, error);
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
        this.processes.add(child);
        let stderrTail = "";
        child.stderr?.on("data", (chunk: Buffer) => {
            stderrTail = (stderrTail + chunk.toString("utf8")).slice(-2000);
        });
        const now = Date.now();
        const host: HostProcess = {
            child,
            ready: Promise.resolve(),
            inFlight: new Map(),
            lastHeard: now,
            lastProgress: now,
            doomed: false,
        };
        child.on("message", (raw: unknown) => this.onReply(host, raw));
        const watchdog = this.watch(host);
        child.on("exit", (code, signal) => {
            this.processes.delete(child);
            clearInterval(watchdog);
            if (this.host === host) this.host = null;
            const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
            const detail = stderrTail.trim().split("\n").slice(-3).join(" | ");
            this.failAll(
                host,
                new EngineCrashedError(
                    `The engine process stopped (${how}) before answering${detail ? `: ${detail}` : ""}. The next request starts a new engine.`,
                ),
            );
        });
        child.on("error", (error) => this.failAll(host, new EngineCrashedError(error.message)));
        host.ready = this.send<"open">(host, {id: this.nextId++, kind: "open", config: this.options.config});
        // A failed open leaves no half-started engine behind.
        host.ready.catch(() => this.stop(host, null));
        return host;
    }

    /** Checks the engine's liveness while it owes answers; kills it when a bound is passed. */
    private watch(host: HostProcess): NodeJS.Timeout {
        let lastTick = Date.now();
        const timer = setInterval(() => {
            const now = Date.now();
            // If this process itself was not running (the machine slept, or it was starved),
            // the engine's silence is not the engine's fault: start counting again.
            if (now - lastTick > Math.max(4 * this.tickMs, 2000)) host.lastHeard = host.lastProgress = now;
            lastTick = now;
            if (host.inFlight.size === 0 || host.doomed) return;
            const {silenceMs, stallMs} = this.liveness;
            if (now - host.lastHeard > silenceMs)
                this.stop(
                    host,
                    new EngineUnresponsiveError(
                        `The engine stopped responding (no sign of life for ${seconds(now - host.lastHeard)}), so it was stopped. The next request starts a new engine.`,
                    ),
                );
            else if (now - host.lastProgress > stallMs)
                this.stop(
                    host,
                    new EngineUnresponsiveError(
                        `The engine made no progress for ${seconds(now - host.lastProgress)} (no text and no prompt batch), so it was stopped. The next request starts a new engine.`,
                    ),
                );
            else if ([...host.inFlight.values()].some((r) => r.windDownBy !== undefined && now > r.windDownBy))
                this.stop(
                    host,
                    new EngineUnresponsiveError(
                        `The engine did not stop within ${seconds(this.liveness.cancelMs)} of a cancel, so it was stopped. The next request starts a new engine.`,
                    ),
                );
        }, this.tickMs);
        timer.unref();
        return timer;
    }

    /** Kills a process at once, failing what it owes with `error` (a crash error when null). */
    private stop(host: HostProcess, error: Error | null): void {
        if (this.host === host) this.host = null;
        host.doomed = true;
        if (error !== null) this.failAll(host, error);
        // SIGKILL also ends a stopped (SIGSTOP) process.
        host.child.kill("SIGKILL");
    }

    private onReply(host: HostProcess, raw: unknown): void {
        let reply: HostReply;
        try {
            reply = parseHostReply(raw);
        } catch (error) {
            this.options.onLog?.("error", `Ignored a malformed engine message: ${(error as Error).message}`);
            return;
        }
        const now = Date.now();
        host.lastHeard = now;
        if (reply.kind !== "alive" && reply.kind !== "log") host.lastProgress = now;
        switch (reply.kind) {
            case "alive":
                return;
            case "log":
                this.options.onLog?.(reply.level, reply.message);
                return;
            case "text": {
                const request = host.inFlight.get(reply.id);
                if (request?.windDownBy === undefined) request?.onText?.(reply.text, reply.pass);
                return;
            }
            case "prompt": {
                const request = host.inFlight.get(reply.id);
                if (request?.windDownBy === undefined) request?.onPrompt?.(reply.evaluated, reply.total, reply.pass);
                return;
            }
            case "step": {
                const request = host.inFlight.get(reply.id);
                if (request?.windDownBy === undefined) request?.onStep?.(reply.done, reply.total);
                return;
            }
            case "done":
                this.answer(host, reply.id, {value: reply.value});
                return;
            case "failed":
                this.answer(host, reply.id, new EngineError(reply.error));
                return;
        }
    }

    /**
     * Signals the engine process, and any earlier one still exiting (a crash for anything in
     * flight). Synchronous, so it can run in an "exit" handler.
     */
    kill(signal: NodeJS.Signals = "SIGKILL"): void {
        for (const child of this.processes) child.kill(signal);
    }

    /** Ends the engine: asks it to exit, and kills it if it has not within 3 s. */
    async dispose(): Promise<void> {
        this.disposed = true;
        const host = this.host;
        this.host = null;
        if (host === null) return;
        this.failAll(host, new EngineCrashedError("The engine client was closed."));
        const child = host.child;
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        if (child.connected) child.disconnect();
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
    }
}
