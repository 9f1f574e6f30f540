// The context pool's scheduling on a runtime whose contexts are plain objects: one context per
// mix however requests race, one request per context at a time in arrival order, never more
// than maxContexts alive, nothing in use evicted, and cancelling a waiting request. The real
// model runs the same pool in test/fault/engineLoad.test.ts.

import assert from "node:assert/strict";
import {test} from "node:test";
import {setTimeout as delay} from "node:timers/promises";
import type {LlamaContext} from "node-llama-cpp";
import {type ContextMix, ContextPool, ContextWaitCancelledError} from "../../engine/runtime/contextPool";
import type {LlamaRuntime} from "../../engine/runtime/llamaRuntime";

interface FakeContext {
    readonly id: number;
    readonly mix: string;
    disposed: boolean;
}

/** A runtime that counts what it creates and frees; creation takes `createMs`. */
function fakeRuntime(options: {createMs?: number; failFor?: Set<string>} = {}) {
    const contexts: FakeContext[] = [];
    let alive = 0;
    let mostAlive = 0;
    const runtime = {
        threads: 1,
        model: {
            async createContext(settings: {lora?: {adapters: {filePath: string}[]}}) {
                const mix = settings.lora?.adapters.map((a) => a.filePath).join("+") ?? "base";
                await delay(options.createMs ?? 5);
                if (options.failFor?.has(mix)) throw new Error(`cannot load ${mix}`);
                const context: FakeContext & {dispose(): Promise<void>} = {
                    id: contexts.length,
                    mix,
                    disposed: false,
                    async dispose() {
                        await delay(2);
                        this.disposed = true;
                        alive--;
                    },
                };
                contexts.push(context);
                alive++;
                mostAlive = Math.max(mostAlive, alive);
                return context as unknown as LlamaContext;
            },
        },
    } as unknown as LlamaRuntime;
    return {runtime, contexts, mostAlive: () => mostAlive};
}

const mix = (name: string): ContextMix => ({key: name, loras: [{filePath: name, scale: 1}]});
const fake = (context: LlamaContext) => context as unknown as FakeContext;

test("racing cold requests for one mix share one context and run on it one at a time, in order", async () => {
    const {runtime, contexts} = fakeRuntime({createMs: 30});
    const pool = new ContextPool(runtime, {contextSize: 64, maxContexts: 2, flashAttention: false});
    const events: string[] = [];
    let running = 0;
    const results = await Promise.all(
        [0, 1, 2, 3].map((n) =>
            pool.use(mix("a"), undefined, async ({context, created}) => {
                running++;
                assert.equal(running, 1, "only one request uses a context at a time");
                events.push(`start ${n}`);
                await delay(10);
                events.push(`end ${n}`);
                running--;
                return {id: fake(context).id, created};
            }),
        ),
    );
    assert.equal(contexts.length, 1, "one context for the mix");
    assert.deepEqual(
        results.map((r) => r.created),
        [true, false, false, false],
    );
    assert.deepEqual(events, ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
    await pool.dispose();
    assert.ok(contexts.every((c) => c.disposed));
});

test("a full pool evicts only an idle context, and a new mix waits while every context is busy", async () => {
    const {runtime, contexts, mostAlive} = fakeRuntime();
    const pool = new ContextPool(runtime, {contextSize: 64, maxContexts: 1, flashAttention: false});
    let releaseA: () => void = () => {};
    const holdA = new Promise<void>((resolve) => {
        releaseA = resolve;
    });
    const order: string[] = [];
    const a = pool.use(mix("a"), undefined, async ({context}) => {
        order.push("a runs");
        await holdA;
        assert.equal(fake(context).disposed, false, "the context in use is not evicted");
        order.push("a done");
    });
    await delay(20);
    const b = pool.use(mix("b"), undefined, async ({context}) => {
        order.push(`b runs on ${fake(context).mix}`);
    });
    await delay(40);
    assert.deepEqual(order, ["a runs"], "b waits for a context instead of taking a's");
    assert.equal(pool.size, 1);
    releaseA();
    await Promise.all([a, b]);
    assert.deepEqual(order, ["a runs", "a done", "b runs on b"]);
    assert.equal(contexts[0]?.disposed, true, "a's idle context made room for b");
    assert.equal(mostAlive(), 1, "never two contexts at once");
    await pool.dispose();
});

test("under many racing mixes the pool never holds more than maxContexts contexts", async () => {
    const {runtime, contexts, mostAlive} = fakeRuntime({createMs: 3});
    const pool = new ContextPool(runtime, {contextSize: 64, maxContexts: 2, flashAttention: false});
    const mixes = ["a", "b", "c", "d", "e"];
    const used = await Promise.all(
        Array.from({length: 40}, (_, n) =>
            pool.use(mix(mixes[n % mixes.length] ?? "a"), undefined, async ({context}) => {
                assert.equal(fake(context).disposed, false);
                await delay(1 + (n % 3));
                return fake(context).mix;
            }),
        ),
    );
    assert.deepEqual(
        used,
        Array.from({length: 40}, (_, n) => mixes[n % mixes.length]),
        "each request ran on its own mix",
    );
    assert.ok(pool.size <= 2);
    assert.ok(mostAlive() <= 2, `at most 2 contexts alive, saw ${mostAlive()}`);
    assert.ok(contexts.length >= 5);
    await pool.dispose();
});

test("a request cancelled while it waits never runs, and the queue behind it moves on", async () => {
    const {runtime} = fakeRuntime();
    const pool = new ContextPool(runtime, {contextSize: 64, maxContexts: 1, flashAttention: false});
    const ran: string[] = [];
    let releaseFirst: () => void = () => {};
    const first = pool.use(mix("a"), undefined, () => {
        ran.push("first");
        return new Promise<void>((resolve) => {
            releaseFirst = resolve;
        });
    });
    await delay(20);
    const controller = new AbortController();
    const sameMix = pool.use(mix("a"), controller.signal, async () => void ran.push("cancelled one"));
    const otherMix = new AbortController();
    const waitingForRoom = pool.use(mix("b"), otherMix.signal, async () => void ran.push("cancelled two"));
    const last = pool.use(mix("a"), undefined, async () => void ran.push("last"));
    controller.abort();
    otherMix.abort();
    await assert.rejects(sameMix, ContextWaitCancelledError);
    await assert.rejects(waitingForRoom, ContextWaitCancelledError);
    releaseFirst();
    await Promise.all([first, last]);
    assert.deepEqual(ran, ["first", "last"]);
    await pool.dispose();
});

test("a mix that cannot be created fails everyone waiting for it, and the next request tries again", async () => {
    const failFor = new Set(["bad"]);
    const {runtime, contexts} = fakeRuntime({failFor, createMs: 10});
    const pool = new ContextPool(runtime, {contextSize: 64, maxContexts: 1, flashAttention: false});
    const racing = [0, 1, 2].map(() => pool.use(mix("bad"), undefined, async () => "ran"));
    for (const request of racing) await assert.rejects(request, /cannot load bad/);
    assert.equal(pool.size, 0, "nothing is kept for a failed mix");
    failFor.clear();
    assert.equal(await pool.use(mix("bad"), undefined, async () => "ran"), "ran");
    assert.equal(await pool.use(mix("good"), undefined, async () => "ran"), "ran", "the failure took no room");
    assert.equal(contexts.length, 2);
    await pool.dispose();
});
