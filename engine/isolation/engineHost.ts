// Entry point of the engine process. It owns the native code: if llama.cpp aborts, only this
// process dies and the client starts a fresh one.

import {parseTaskChain} from "../compose/taskChain";
import {Engine} from "../engine";
import {HEARTBEAT_MS, type HostReply, type HostRequest, parseHostRequest, serializeError} from "./protocol";

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

async function handle(request: HostRequest): Promise<unknown> {
    switch (request.kind) {
        case "open":
            if (engine === null) engine = await Engine.open(request.config, log);
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
        case "refresh":
            await requireEngine().refresh(log);
            return requireEngine().status();
    }
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
    // The caller is gone: nobody can read our output, so stop quickly. Freeing native memory
    // waits for llama.cpp's work in flight; if that is stuck, exiting must not wait for it.
    setTimeout(() => process.kill(process.pid, "SIGKILL"), EXIT_GRACE_MS);
    void (engine?.dispose() ?? Promise.resolve()).finally(() => process.exit(0));
});
