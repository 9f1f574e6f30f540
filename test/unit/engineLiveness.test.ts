// The engine client's liveness check against a scripted engine process that speaks the real
// protocol and misbehaves on purpose: a stopped process, a stuck event loop, a native stall
// (heartbeat but no progress), an engine that ignores a cancel. Each request must end with a
// clear error within its bound, the bad process must be gone, and the next request must work.
// Work that streams progress, and idle time, must never be mistaken for a hang.
// test/fault/engineFaults.test.ts does the same to the real engine with the real model.

import assert from "node:assert/strict";
import {mkdtemp, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {setTimeout as delay} from "node:timers/promises";
import {parseTaskChain} from "../../engine/compose/taskChain";
import type {EngineConfig} from "../../engine/engine";
import {
    EngineClient,
    EngineCrashedError,
    EngineUnresponsiveError,
    type LivenessBounds,
} from "../../engine/isolation/engineClient";
import {HEARTBEAT_MS} from "../../engine/isolation/protocol";
import {gone, isAlive, timed} from "../support/processes";

// The scripted engine: "open" answers at once; what "compose" does is the input text, what
// "model.fetch" does is its modelsDir.
const SCRIPTED_HOST = `
let mode = "normal";
let opened = false;
const timers = new Map();
const kinds = new Map();
const send = (m) => process.connected && process.send(m);
// Faster than the real engine's ${HEARTBEAT_MS} ms, so that short bounds keep a wide margin.
const heartbeat = setInterval(() => send({kind: "alive"}), 200);
heartbeat.unref();
process.on("message", (m) => {
    kinds.set(m.id, m.kind);
    if (m.kind === "open") {
        opened = true;
        return send({id: m.id, kind: "done", value: {opened: true}});
    }
    if (m.kind === "status") return send({id: m.id, kind: "done", value: {pid: process.pid}});
    if (m.kind === "cancel") {
        if (mode === "ignore-cancel") return;
        clearInterval(timers.get(m.target));
        clearTimeout(timers.get(m.target));
        const name = kinds.get(m.target) === "compose" ? "ComposeCancelledError" : "RequestCancelledError";
        send({id: m.target, kind: "failed", error: {name, message: "cancelled", code: "cancelled"}});
        return send({id: m.id, kind: "done", value: null});
    }
    if (m.kind === "model.fetch") {
        const [what, arg] = m.modelsDir.split(":");
        mode = what;
        // The path says whether the model was opened before the fetch (it must not be).
        const done = () => send({id: m.id, kind: "done", value: {path: "/models/" + what + (opened ? "-after-open" : "") + ".gguf"}});
        // "quiet:MS": heartbeats only (a slow network), then done.
        if (what === "quiet") return timers.set(m.id, setTimeout(done, Number(arg)));
        // "download:N" / "ignore-cancel:N": N progress messages 100 ms apart, then done.
        let chunks = 0;
        timers.set(m.id, setInterval(() => {
            send({id: m.id, kind: "progress", step: "download", unit: "bytes", done: ++chunks, total: Number(arg)});
            if (chunks === Number(arg)) {
                clearInterval(timers.get(m.id));
                done();
            }
        }, 100));
        return;
    }
    if (m.kind !== "compose") return;
    const [what, arg] = m.input.split(":");
    mode = what;
    if (what === "busy-loop") for (;;) {}
    if (what === "stall") return; // heartbeats go on, the request never progresses
    if (what === "stream" || what === "ignore-cancel") {
        // One piece of text every 100 ms; "stream:N" finishes after N pieces.
        let pieces = 0;
        timers.set(m.id, setInterval(() => {
            send({id: m.id, kind: "text", text: "x", pass: 0});
            if (++pieces === Number(arg)) {
                clearInterval(timers.get(m.id));
                send({id: m.id, kind: "done", value: {text: "x".repeat(pieces)}});
            }
        }, 100));
        return;
    }
    send({id: m.id, kind: "done", value: {text: "ok"}});
});
process.on("disconnect", () => process.exit(0));
`;

const BOUNDS: LivenessBounds = {silenceMs: 2000, stallMs: 2000, cancelMs: 1200};
/** For the silence cases: a stopped process also makes no progress, and silence must be seen first. */
const SILENCE_FIRST: LivenessBounds = {...BOUNDS, stallMs: 10_000};
/** Scheduling slack on a loaded machine. */
const SLACK_MS = 3000;
const chain = parseTaskChain("summarize");
let work: string;
let hostScript: string;
const clients: EngineClient[] = [];

function client(liveness: Partial<LivenessBounds> = BOUNDS): EngineClient {
    const made = new EngineClient({hostScript, config: {} as EngineConfig, liveness});
    clients.push(made);
    return made;
}

before(async () => {
    work = await mkdtemp(join(tmpdir(), "composer-liveness-"));
    hostScript = join(work, "scripted-host.mjs");
    await writeFile(hostScript, SCRIPTED_HOST);
});

after(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await rm(work, {recursive: true, force: true});
});

test("a stopped engine (SIGSTOP) fails the request as unresponsive, is killed, and the next request works", async () => {
    const engine = client(SILENCE_FIRST);
    await engine.status();
    const pid = engine.pid ?? -1;
    const request = engine.compose({chain, method: "auto", input: "stream:1000"});
    await delay(200);
    process.kill(pid, "SIGSTOP");
    const {error, ms} = await timed(request);
    assert.ok(error instanceof EngineUnresponsiveError, String(error));
    assert.ok(error instanceof EngineCrashedError, "callers that handle crashes handle this too");
    assert.match(
        error.message,
        /stopped responding \(no sign of life for \d+\.\d s\).*next request starts a new engine/,
    );
    assert.ok(ms >= BOUNDS.silenceMs - 200 && ms < BOUNDS.silenceMs + SLACK_MS, `failed after ${ms} ms`);
    assert.ok(await gone(pid), "the stopped process was killed");
    assert.deepEqual(await engine.compose({chain, method: "auto", input: "plain"}), {text: "ok"});
    assert.notEqual(engine.pid, pid);
});

test("an engine whose event loop is stuck is caught the same way", async () => {
    const engine = client(SILENCE_FIRST);
    await engine.status();
    const pid = engine.pid ?? -1;
    const {error} = await timed(engine.compose({chain, method: "auto", input: "busy-loop"}));
    assert.ok(error instanceof EngineUnresponsiveError, String(error));
    assert.ok(await gone(pid));
    assert.deepEqual(await engine.compose({chain, method: "auto", input: "plain"}), {text: "ok"});
});

test("a heartbeat without progress is a stall: the request fails after stallMs", async () => {
    const engine = client({...BOUNDS, silenceMs: 10_000});
    await engine.status();
    const pid = engine.pid ?? -1;
    const {error, ms} = await timed(engine.compose({chain, method: "auto", input: "stall"}));
    assert.ok(error instanceof EngineUnresponsiveError, String(error));
    assert.match(error.message, /made no progress for \d+\.\d s \(no text and no prompt batch\)/);
    assert.ok(ms >= BOUNDS.stallMs - 200 && ms < BOUNDS.stallMs + SLACK_MS, `failed after ${ms} ms`);
    assert.ok(await gone(pid));
});

test("a long request that keeps streaming outlives every bound, and idle time counts for nothing", async () => {
    const engine = client();
    await engine.status();
    const pid = engine.pid;
    // 40 pieces at 100 ms: 4 s, twice the bounds, with progress all along.
    assert.deepEqual(await engine.compose({chain, method: "auto", input: "stream:40"}), {text: "x".repeat(40)});
    // Idle (no request) for longer than the bounds: the engine is not blamed for it.
    await delay(BOUNDS.stallMs + 500);
    assert.deepEqual(await engine.compose({chain, method: "auto", input: "plain"}), {text: "ok"});
    assert.equal(engine.pid, pid, "the same engine served everything");
});

test("a cancel ends the request at once, even on a stopped engine, which is then killed", async () => {
    const engine = client({...BOUNDS, silenceMs: 60_000, stallMs: 60_000});
    await engine.status();
    const pid = engine.pid ?? -1;
    const controller = new AbortController();
    const request = engine.compose({chain, method: "auto", input: "stream:1000", signal: controller.signal});
    await delay(200);
    process.kill(pid, "SIGSTOP");
    await delay(100);
    const started = Date.now();
    controller.abort();
    const {error} = await timed(request);
    assert.ok(Date.now() - started < 250, "the caller has its answer at once");
    assert.equal(error?.name, "ComposeCancelledError");
    // The stopped engine cannot acknowledge the cancel, so it is killed after cancelMs.
    assert.ok(isAlive(pid));
    assert.ok(await gone(pid, BOUNDS.cancelMs + SLACK_MS), "the engine that ignored the cancel was killed");
    assert.deepEqual(await engine.compose({chain, method: "auto", input: "plain"}), {text: "ok"});
});

test("an engine that keeps working after a cancel is killed; one that stops is kept", async () => {
    const engine = client({...BOUNDS, silenceMs: 60_000, stallMs: 60_000});
    const polite = new AbortController();
    const first = engine.compose({chain, method: "auto", input: "stream:1000", signal: polite.signal});
    await delay(300);
    const pid = engine.pid ?? -1;
    polite.abort();
    assert.equal((await timed(first)).error?.name, "ComposeCancelledError");
    await delay(BOUNDS.cancelMs + 500);
    assert.equal(engine.pid, pid, "an engine that honoured the cancel is kept");

    const rude = new AbortController();
    const streamed: string[] = [];
    const second = engine.compose({
        chain,
        method: "auto",
        input: "ignore-cancel:1000",
        signal: rude.signal,
        onText: (text) => streamed.push(text),
    });
    await delay(300);
    rude.abort();
    const piecesAtCancel = streamed.length;
    assert.equal((await timed(second)).error?.name, "ComposeCancelledError");
    assert.ok(await gone(pid, BOUNDS.cancelMs + SLACK_MS), "the engine that went on was killed");
    assert.equal(streamed.length, piecesAtCancel, "no text reaches the caller after its cancel");
});

test("a stopped engine at start-up fails the first request as unresponsive", async () => {
    const engine = client(SILENCE_FIRST);
    // Stop the process before it can answer "open".
    const request = engine.status();
    const pid = engine.pid ?? -1;
    process.kill(pid, "SIGSTOP");
    const {error, ms} = await timed(request);
    assert.ok(error instanceof EngineUnresponsiveError, String(error));
    assert.ok(ms < BOUNDS.silenceMs + SLACK_MS, `failed after ${ms} ms`);
    assert.ok(await gone(pid));
    assert.ok(((await engine.status()) as unknown as {pid: number}).pid > 0);
});

const modelsDir = (script: string) => ({modelsDir: script});
const defaultModel = {kind: "default"} as const;

test("a model fetch needs no model open: a client without one fetches, and refuses engine requests clearly", async () => {
    const fetchOnly = new EngineClient({hostScript, liveness: BOUNDS});
    clients.push(fetchOnly);
    const seen: number[] = [];
    const path = await fetchOnly.fetchModel(defaultModel, {
        ...modelsDir("download:5"),
        onProgress: (p) => {
            assert.deepEqual([p.step, p.unit, p.total], ["download", "bytes", 5]);
            seen.push(p.done);
        },
    });
    assert.equal(path, "/models/download.gguf");
    assert.deepEqual(seen, [1, 2, 3, 4, 5], "every progress message reached the caller, in order");
    await assert.rejects(fetchOnly.status(), /made without a model: it can only fetch one/);
    // A client with a model fetches without opening it first.
    assert.equal(await client().fetchModel(defaultModel, modelsDir("download:1")), "/models/download.gguf");
});

test("a download is paced by the network: quiet longer than the stall bound is not a hang", async () => {
    const engine = client({...BOUNDS, silenceMs: 10_000});
    const request = engine.fetchModel(defaultModel, modelsDir(`quiet:${BOUNDS.stallMs + 1500}`));
    const pid = engine.pid ?? -1;
    const {value, error, ms} = await timed(request);
    assert.equal(error, null, String(error));
    assert.equal(value, "/models/quiet.gguf");
    assert.ok(ms >= BOUNDS.stallMs + 1500, `answered after ${ms} ms`);
    assert.equal(engine.pid, pid, "the same engine answered");
    assert.ok(isAlive(pid));
});

test("a cancelled fetch ends with the engine's answer; an engine that goes on downloading is killed", async () => {
    const engine = client({...BOUNDS, silenceMs: 60_000, stallMs: 60_000});
    const polite = new AbortController();
    const first = engine.fetchModel(defaultModel, {...modelsDir("download:1000"), signal: polite.signal});
    await delay(300);
    const pid = engine.pid ?? -1;
    polite.abort();
    const answered = await timed(first);
    assert.equal(
        answered.error?.name,
        "RequestCancelledError",
        "the engine's own cancellation, not the client's guess",
    );
    assert.equal((answered.error as {code?: string}).code, "cancelled");
    await delay(BOUNDS.cancelMs + 500);
    assert.equal(engine.pid, pid, "an engine that stopped downloading is kept");

    const rude = new AbortController();
    const second = engine.fetchModel(defaultModel, {...modelsDir("ignore-cancel:1000"), signal: rude.signal});
    await delay(300);
    rude.abort();
    const {error, ms} = await timed(second);
    assert.ok(error instanceof EngineUnresponsiveError, String(error));
    assert.match(error.message, /did not stop within \d+\.\d s of a cancel/);
    assert.ok(ms >= BOUNDS.cancelMs - 200 && ms < BOUNDS.cancelMs + SLACK_MS, `failed after ${ms} ms`);
    assert.ok(await gone(pid), "the engine that went on was killed");
});

test("an engine that dies during a download fails the fetch as a crash", async () => {
    const engine = client({...BOUNDS, silenceMs: 60_000, stallMs: 60_000});
    const request = engine.fetchModel(defaultModel, {
        ...modelsDir("download:1000"),
        onProgress: () => engine.kill("SIGKILL"),
    });
    const {error} = await timed(request);
    assert.ok(error instanceof EngineCrashedError, String(error));
    assert.match(error.message, /stopped \(signal SIGKILL\) before answering/);
});
