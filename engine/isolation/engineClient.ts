// The caller's side of the engine process. Requests in flight when the process dies fail
// with EngineCrashedError; the next request starts a fresh process. Nothing ever waits forever:
// a process that stops answering (stopped, stuck event loop) or stops making progress (a native
// deadlock or endless loop) while work is in flight is killed and its requests fail with
// EngineUnresponsiveError; a cancelled composition ends at once, a cancelled install or fetch
// when the engine says it stopped, and an engine that does not stop in time is killed too.
// The process opens the model with the first request that needs it; a model fetch needs none.

import {type ChildProcess, fork} from "node:child_process";
import type {ComposeResult} from "../compose/composer";
import type {MethodChoice} from "../compose/methods";
import {chainKey, type TaskChain} from "../compose/taskChain";
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
import {engineHostEnvironment} from "./hostEnvironment";
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
    /** The engine to open. Absent: a client for model fetches only (there is no model yet). */
    readonly config?: EngineConfig;
    readonly onLog?: (level: string, message: string) => void;
    /** The Node binary to run the host with (VS Code's extension host passes its own). */
    readonly execPath?: string;
    /** Overrides of DEFAULT_LIVENESS (tests use short ones). */
    readonly liveness?: Partial<LivenessBounds>;
    /** The engine process's environment; default: engineHostEnvironment() (hostEnvironment.ts). */
    readonly env?: NodeJS.ProcessEnv;
}

/** What a compose call streams back while it runs. */
interface ComposeListeners {
    readonly onText?: (text: string, pass: number) => void;
    readonly onPrompt?: (evaluated: number, total: number, pass: number) => void;
    readonly onStep?: (done: number, total: number) => void;
}

/** What a request streams back while it runs. */
interface Listeners extends ComposeListeners {
    readonly onProgress?: (progress: ModelFetchProgress) => void;
}

/**
 * Requests paced by the network (a download), not by llama.cpp: the stall bound does not apply
 * to them. The heartbeat still must come, and a cancel still must land within cancelMs.
 */
const NETWORK_PACED: ReadonlySet<keyof ReplyValues> = new Set(["model.fetch", "adapters.install"]);

/** A request sent to one engine process. */
interface InFlight extends Listeners {
    readonly resolve: (value: unknown) => void;
    readonly reject: (error: Error) => void;
    /** Its progress is held to stallMs. */
    readonly watched: boolean;
    /** Set when the caller cancelled: the engine must have answered by then. */
    windDownBy?: number;
    /** The caller already has its answer (a cancelled composition ends at once). */
    answered?: boolean;
}

interface HostProcess {
    readonly child: ChildProcess;
    /** The "open" request, sent before the first request that needs the engine; null until then. */
    opened: Promise<unknown> | null;
    /** Requests this process owes an answer, cancelled ones included. */
    readonly inFlight: Map<number, InFlight>;
    /** When this process last sent anything / progress on a watched request. */
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

/** The requests a caller can cancel. */
type CancellableKind = "compose" | "model.fetch" | "adapters.install";

function cancelledError(kind: CancellableKind): EngineError {
    if (kind === "compose")
        return new EngineError({
            name: "ComposeCancelledError",
            message: "Composition was cancelled; nothing was produced.",
        });
    const what = kind === "model.fetch" ? "model download" : "adapter install";
    return new EngineError({name: "RequestCancelledError", message: `The ${what} was cancelled.`, code: "cancelled"});
}

/** Whether the process owes an answer to a request held to the stall bound. */
function hasWatched(host: HostProcess): boolean {
    for (const request of host.inFlight.values()) if (request.watched) return true;
    return false;
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

    /** Waits until the engine has prepared what first requests need (engine/preparation.ts); null if it never started. */
    async preparation(): Promise<PreparationReport | null> {
        return this.call("preparation", {});
    }

    async listAdapters(): Promise<AdapterSummary[]> {
        return this.call("adapters.list", {});
    }

    /** Re-validates an installed adapter (hash included); fails with the validation error's code. */
    async verifyAdapter(adapterId: string): Promise<ValidAdapterSummary> {
        return this.call("adapters.verify", {adapterId});
    }

    /** Removes a user-installed adapter; the engine then uses what is left. */
    async removeAdapter(adapterId: string): Promise<EngineStatus> {
        return this.call("adapters.remove", {adapterId});
    }

    /**
     * Validates and installs an adapter; the engine then uses it. A cancel stops a download; an
     * install that has begun finishes, and the answer says which happened.
     */
    async installAdapter(
        source: AdapterSource,
        options: {readonly replace?: boolean; readonly signal?: AbortSignal} = {},
    ): Promise<ReplyValues["adapters.install"]> {
        return this.cancellable("adapters.install", {source, replace: options.replace ?? false}, options.signal, {});
    }

    /** Puts the model of `model` in `modelsDir` (checked; see model/fetch.ts) and returns its path. Needs no model open. */
    async fetchModel(
        model: BaseModelSetting,
        options: {
            readonly modelsDir: string;
            readonly signal?: AbortSignal;
            readonly onProgress?: (progress: ModelFetchProgress) => void;
        },
    ): Promise<string> {
        const {modelsDir, signal, onProgress} = options;
        return (await this.cancellable("model.fetch", {model, modelsDir}, signal, {onProgress})).path;
    }

    async compose(request: ComposeCall): Promise<ComposeResult> {
        const {signal, onText, onPrompt, onStep, chain, ...rest} = request;
        return this.cancellable("compose", {chain: chainKey(chain), ...rest}, signal, {onText, onPrompt, onStep});
    }

    private async cancellable<K extends CancellableKind>(
        kind: K,
        fields: object,
        signal: AbortSignal | undefined,
        listeners: Listeners,
    ): Promise<ReplyValues[K]> {
        if (signal?.aborted) throw cancelledError(kind);
        // A cancel while the engine starts ends the call too (the engine goes on starting).
        const host = await this.untilAborted(
            kind === "model.fetch" ? this.ensureHost() : this.ensureOpen(),
            signal,
            kind,
        );
        const id = this.nextId++;
        const done = this.send<K>(host, {id, kind, ...fields}, listeners);
        const cancel = () => {
            const request = host.inFlight.get(id);
            if (request === undefined || request.windDownBy !== undefined) return;
            // The engine gets cancelMs to stop (one token, one prompt batch, a download's next
            // chunk), else the liveness check kills it.
            request.windDownBy = Date.now() + this.liveness.cancelMs;
            // A composition ends for its caller now: nothing of it is kept. An install or a fetch
            // ends with the engine's answer, which says whether it stopped or had already finished.
            if (kind === "compose") {
                request.answered = true;
                request.reject(cancelledError(kind));
            }
            if (!host.doomed) host.child.send({id: this.nextId++, kind: "cancel", target: id}, () => {});
        };
        signal?.addEventListener("abort", cancel, {once: true});
        try {
            return await done;
        } finally {
            signal?.removeEventListener("abort", cancel);
        }
    }

    private untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, kind: CancellableKind): Promise<T> {
        if (signal === undefined) return promise;
        return new Promise<T>((resolve, reject) => {
            const aborted = () => reject(cancelledError(kind));
            signal.addEventListener("abort", aborted, {once: true});
            promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", aborted));
        });
    }

    private async call<K extends Exclude<keyof ReplyValues, CancellableKind | "open" | "cancel">>(
        kind: K,
        fields: object,
    ): Promise<ReplyValues[K]> {
        const host = await this.ensureOpen();
        return this.send<K>(host, {id: this.nextId++, kind, ...fields});
    }

    private send<K extends keyof ReplyValues>(
        host: HostProcess,
        message: {id: number; kind: K} & Record<string, unknown>,
        listeners: Listeners = {},
    ): Promise<ReplyValues[K]> {
        return new Promise<ReplyValues[K]>((resolve, reject) => {
            if (host.doomed) {
                reject(new EngineCrashedError("The engine was stopped; the next request starts a new one."));
                return;
            }
            // Quiet time while nothing (watched) was asked of the engine does not count against it.
            const now = Date.now();
            if (host.inFlight.size === 0) host.lastHeard = now;
            const watched = !NETWORK_PACED.has(message.kind);
            if (watched && !hasWatched(host)) host.lastProgress = now;
            host.inFlight.set(message.id, {
                resolve: resolve as (value: unknown) => void,
                reject,
                watched,
                ...listeners,
            });
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
        if (request.answered) return;
        if (outcome instanceof Error) request.reject(outcome);
        else request.resolve(outcome.value);
    }

    private failAll(host: HostProcess, error: Error): void {
        for (const id of [...host.inFlight.keys()]) this.answer(host, id, error);
    }

    /** The running engine process, started if none runs; the model may not be open. */
    private async ensureHost(): Promise<HostProcess> {
        if (this.disposed) throw new Error("The engine client is disposed.");
        if (this.host === null) this.host = this.spawn();
        return this.host;
    }

    /** The running engine process with its model open. */
    private async ensureOpen(): Promise<HostProcess> {
        const host = await this.ensureHost();
        if (host.opened === null) {
            const config = this.options.config;
            if (config === undefined)
                throw new Error("This engine client was made without a model: it can only fetch one.");
            host.opened = this.send(host, {id: this.nextId++, kind: "open", config});
            // A failed open leaves no half-started engine behind (nor anything it was doing).
            host.opened.catch(() => this.stop(host, null));
        }
        await host.opened;
        return host;
    }

    private spawn(): HostProcess {
        const child = fork(this.options.hostScript, [], {
            execPath: this.options.execPath ?? process.execPath,
            // The host collects garbage itself once it has prepared (engineHost.ts); nothing of
            // the caller's Node flags (an inspector port, say) is wanted there.
            execArgv: ["--expose-gc"],
            env: this.options.env ?? engineHostEnvironment(),
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
            opened: null,
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
            else if (hasWatched(host) && now - host.lastProgress > stallMs)
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
        if (reply.kind === "alive") return;
        if (reply.kind === "log") {
            this.options.onLog?.(reply.level, reply.message);
            return;
        }
        const request = host.inFlight.get(reply.id);
        if (request?.watched) host.lastProgress = now;
        // What a request streams after its caller has its answer goes nowhere.
        const listening = request !== undefined && !request.answered;
        switch (reply.kind) {
            case "text":
                if (listening) request.onText?.(reply.text, reply.pass);
                return;
            case "prompt":
                if (listening) request.onPrompt?.(reply.evaluated, reply.total, reply.pass);
                return;
            case "step":
                if (listening) request.onStep?.(reply.done, reply.total);
                return;
            case "progress": {
                const {step, unit, done, total} = reply;
                if (listening) request.onProgress?.({step, unit, done, total});
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
