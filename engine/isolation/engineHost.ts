// Entry point of the engine process. It owns the native code, and everything that reads a model
// or artifact file or fetches one: if llama.cpp aborts, only this process dies and the client
// starts a fresh one. It starts without a model; "open" loads one. A model fetch needs none,
// which is how a first run (or a broken model) gets its model through the same protocol.

import {parseTaskChain} from "../compose/taskChain";
import {Engine} from "../engine";
import {fetchBaseModel} from "../model/fetch";
import type {PreparationReport} from "../preparation";
import {HEARTBEAT_MS, type HostReply, type HostRequest, parseHostRequest, serializeError} from "./protocol";

/** A request stopped by its caller's cancel (compose has its own, ComposeCancelledError). */
class RequestCancelledError extends Error {
    override name = "RequestCancelledError";
    readonly code = "cancelled";
}

let engine: Engine | null = null;
const running = new Map<number, AbortController>();

function send(reply: HostReply): void {
    // After the caller is gone there is no one to tell (and sending would throw).
    if (process.connected) process.send?.(reply);
}

const log = (level: string, message: string) => send({kind: "log", level, message});

function requireEngine(): Engine {
    if (engine === null) throw new Error("The engine is not open yet.");
    return engine;
}

/** Runs `work` with a signal the request's "cancel" aborts; what it was doing then fails as cancelled. */
async function cancellable<T>(id: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    running.set(id, controller);
    try {
        return await work(controller.signal);
    } catch (error) {
        if (controller.signal.aborted) throw new RequestCancelledError(`The ${what} was cancelled.`);
        throw error;
    } finally {
        running.delete(id);
    }
}

async function handle(request: HostRequest): Promise<unknown> {
    switch (request.kind) {
        case "open":
            if (engine === null) {
                engine = await Engine.open(request.config, log);
                prepareInBackground(engine);
            }
            return engine.status();
        case "compose": {
            const controller = new AbortController();
            running.set(request.id, controller);
            try {
                return await requireEngine().compose(
                    {
                        chain: parseTaskChain(request.chain),
                        method: request.method,
                        input: request.input,
                        ...(request.maxTokens === undefined ? {} : {maxTokens: request.maxTokens}),
                    },
                    {
                        signal: controller.signal,
                        onText: (text, pass) => send({id: request.id, kind: "text", text, pass}),
                        onPrompt: (evaluated, total, pass) =>
                            send({id: request.id, kind: "prompt", evaluated, total, pass}),
                        onStep: (done, total) => send({id: request.id, kind: "step", done, total}),
                    },
                );
            } finally {
                running.delete(request.id);
            }
        }
        case "cancel":
            running.get(request.target)?.abort();
            return null;
        case "capabilities":
            return requireEngine().capabilities();
        case "status":
            return requireEngine().status();
        case "preparation":
            return requireEngine().preparationReport();
        case "refresh":
            await requireEngine().refresh(log);
            return requireEngine().status();
        case "adapters.list":
            return requireEngine().listAdapters();
        case "adapters.verify":
            return requireEngine().verifyAdapter(request.adapterId);
        case "adapters.install": {
            const open = requireEngine();
            const adapter = await cancellable(request.id, "adapter download", (signal) =>
                open.installAdapter(request.source, {replace: request.replace, signal, onLog: log}),
            );
            return {adapter, status: open.status()};
        }
        case "adapters.remove":
            await requireEngine().removeAdapter(request.adapterId, log);
            return requireEngine().status();
        case "model.fetch":
            return {
                path: await cancellable(request.id, "model download", (signal) =>
                    fetchBaseModel(request.model, {
                        modelsDir: request.modelsDir,
                        signal,
                        onProgress: (progress) => send({id: request.id, kind: "progress", ...progress}),
                    }),
                ),
            };
    }
}

/** Prepares what first requests would wait for (engine/preparation.ts), between requests; logs what it did. */
function prepareInBackground(open: Engine): void {
    const report = (done: PreparationReport) => {
        if (!done.finished) return;
        // Fusing and verifying read and write ~22-30 MB per composite and drop it; with no request
        // to allocate after it, V8 would keep that garbage (90 MB of buffers on a first start)
        // until something does. The client starts this process with --expose-gc.
        (globalThis as {gc?: () => void}).gc?.();
        const failed = done.steps.filter((step) => step.error !== undefined);
        const busy = done.steps.reduce((sum, step) => sum + step.ms, 0);
        log(
            "info",
            `Prepared ${done.steps.length - failed.length} of ${done.steps.length} context shapes and composites in ${(busy / 1000).toFixed(1)} s of work (${(done.totalMs / 1000).toFixed(1)} s with requests between).`,
        );
    };
    // Failures are logged as they happen (also when a refresh restarts it); the request that
    // needs what failed meets the error again and reports it.
    void open
        .prepareInBackground((step) => {
            if (step.error !== undefined) log("warn", `Could not prepare ${step.what}: ${step.error}`);
        })
        .then(report);
}

process.on("message", (message: unknown) => {
    let request: HostRequest;
    try {
        request = parseHostRequest(message);
    } catch (error) {
        const id = typeof (message as {id?: unknown})?.id === "number" ? (message as {id: number}).id : -1;
        send({id, kind: "failed", error: serializeError(error)});
        return;
    }
    handle(request).then(
        (value) => send({id: request.id, kind: "done", value}),
        (error: unknown) => send({id: request.id, kind: "failed", error: serializeError(error)}),
    );
});

// The heartbeat the client's liveness check listens for; unref'd so it never keeps us alive.
setInterval(() => send({kind: "alive"}), HEARTBEAT_MS).unref();

// The caller owns this process's life: a terminal's Ctrl-C reaches the whole process group,
// and the caller decides what it means (cancel first, stop the engine on the second).
process.on("SIGINT", () => {});

/** How long freeing the model may take once the caller is gone before the process kills itself. */
const EXIT_GRACE_MS = 2000;

process.on("disconnect", () => {
    // The caller is gone: nobody can read our output, so stop quickly. Cancelling stops the
    // downloads' child processes (pip) too. Freeing native memory waits for llama.cpp's work in
    // flight; if that is stuck, exiting must not wait for it.
    for (const controller of running.values()) controller.abort();
    setTimeout(() => process.kill(process.pid, "SIGKILL"), EXIT_GRACE_MS);
    void (engine?.dispose() ?? Promise.resolve()).finally(() => process.exit(0));
});
