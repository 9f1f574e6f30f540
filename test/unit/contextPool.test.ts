// The context pool's scheduling and memory bound on a runtime whose contexts are plain objects:
// one context per mix however requests race, one request per context at a time in arrival
// order, nothing in use evicted, cancelling a waiting request; and in bytes: the contexts alive
// and the LoRAs loaded never hold more than the budget, least recently used idle contexts make
// room, a LoRA no context uses is unloaded (and not loaded again before it is freed), requests
// wait rather than exceed, and a request gets the smallest context size that holds it. The real
// model runs the same pool in test/fault/engineLoad.test.ts and test/integration/contextMemory.test.ts.

import assert from "node:assert/strict";
import {test} from "node:test";
import {setTimeout as delay} from "node:timers/promises";
import type {LlamaContext} from "node-llama-cpp";
import {
    type ContextMix,
    ContextPool,
    type ContextPoolOptions,
    ContextWaitCancelledError,
} from "../../engine/runtime/contextPool";
import type {LlamaRuntime} from "../../engine/runtime/llamaRuntime";

interface FakeContext {
    readonly id: number;
    readonly mix: string;
    readonly contextSize: number;
    disposed: boolean;
}

/** Bytes in the fake world: a context of n tokens holds n bytes; each LoRA file holds LORA_BYTES. */
const LORA_BYTES = 100;
const contextBytes = (contextSize: number) => contextSize;

/**
 * A runtime that counts what it creates, loads and frees, the way llama.cpp holds memory: a
 * context from the start of its creation until its disposal ends, a LoRA from the first context
 * that loads it until it is unloaded. Creation takes `createMs`, unloading `unloadMs`.
 */
function fakeRuntime(
    options: {createMs?: number; unloadMs?: number; failFor?: Set<string>; cannotUnload?: boolean} = {},
) {
    const contexts: FakeContext[] = [];
    const loaded = new Set<string>();
    const unloading = new Set<string>();
    const events: string[] = [];
    let resident = 0;
    let peak = 0;
    const add = (bytes: number) => {
        resident += bytes;
        peak = Math.max(peak, resident);
    };
    let alive = 0;
    let mostAlive = 0;
    const runtime = {
        threads: 1,
        model: {
            async createContext(settings: {contextSize: number; lora?: {adapters: {filePath: string}[]}}) {
                const files = settings.lora?.adapters.map((a) => a.filePath) ?? [];
                const mix = files.join("+") || "base";
                for (const file of files) {
                    assert.ok(!unloading.has(file), `${file} is loaded again while it is being unloaded`);
                    if (!loaded.has(file)) {
                        loaded.add(file);
                        add(LORA_BYTES);
                    }
                }
                add(contextBytes(settings.contextSize));
                alive++;
                mostAlive = Math.max(mostAlive, alive);
                await delay(options.createMs ?? 5);
                if (options.failFor?.has(mix)) {
                    resident -= contextBytes(settings.contextSize);
                    alive--;
                    throw new Error(`cannot load ${mix}`);
                }
                events.push(`create ${mix}@${settings.contextSize}`);
                const context: FakeContext & {dispose(): Promise<void>} = {
                    id: contexts.length,
                    mix,
                    contextSize: settings.contextSize,
                    disposed: false,
                    async dispose() {
                        await delay(2);
                        this.disposed = true;
                        alive--;
                        resident -= contextBytes(settings.contextSize);
                        events.push(`dispose ${mix}@${settings.contextSize}`);
                    },
                };
                contexts.push(context);
                return context as unknown as LlamaContext;
            },
        },
        async unloadLora(filePath: string) {
            if (options.cannotUnload) return false;
            unloading.add(filePath);
            await delay(options.unloadMs ?? 1);
            unloading.delete(filePath);
            if (loaded.delete(filePath)) resident -= LORA_BYTES;
            events.push(`unload ${filePath}`);
            return true;
        },
    } as unknown as LlamaRuntime;
    return {
        runtime,
        contexts,
        loaded,
        events,
        mostAlive: () => mostAlive,
        peak: () => peak,
        resident: () => resident,
    };
}

/** Options with a budget; contexts of 64 tokens unless a test says otherwise. */
function options(overrides: Partial<ContextPoolOptions> = {}): ContextPoolOptions {
    return {
        contextSize: 64,
        batchSize: 8,
        flashAttention: false,
        memoryBudgetBytes: 1_000_000,
        contextBytes,
        loraBytes: async () => LORA_BYTES,
        ...overrides,
    };
}

const mix = (name: string): ContextMix => ({key: name, loras: [{filePath: name, scale: 1}]});
const fake = (context: LlamaContext) => context as unknown as FakeContext;

/** Work that runs until `release` is called. */
function held(): {work: () => Promise<void>; release: () => void} {
    let release: () => void = () => {};
    const done = new Promise<void>((resolve) => {
        release = resolve;
    });
    return {work: () => done, release: () => release()};
}

test("racing cold requests for one mix share one context and run on it one at a time, in order", async () => {
    const {runtime, contexts} = fakeRuntime({createMs: 30});
    const pool = new ContextPool(runtime, options({maxContexts: 2}));
    const events: string[] = [];
    let running = 0;
    const results = await Promise.all(
        [0, 1, 2, 3].map((n) =>
            pool.use(mix("a"), {}, async ({context, created}) => {
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
    const pool = new ContextPool(runtime, options({maxContexts: 1}));
    let releaseA: () => void = () => {};
    const holdA = new Promise<void>((resolve) => {
        releaseA = resolve;
    });
    const order: string[] = [];
    const a = pool.use(mix("a"), {}, async ({context}) => {
        order.push("a runs");
        await holdA;
        assert.equal(fake(context).disposed, false, "the context in use is not evicted");
        order.push("a done");
    });
    await delay(20);
    const b = pool.use(mix("b"), {}, async ({context}) => {
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
    const pool = new ContextPool(runtime, options({maxContexts: 2}));
    const mixes = ["a", "b", "c", "d", "e"];
    const used = await Promise.all(
        Array.from({length: 40}, (_, n) =>
            pool.use(mix(mixes[n % mixes.length] ?? "a"), {}, async ({context}) => {
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
    const pool = new ContextPool(runtime, options({maxContexts: 1}));
    const ran: string[] = [];
    let releaseFirst: () => void = () => {};
    const first = pool.use(mix("a"), {}, () => {
        ran.push("first");
        return new Promise<void>((resolve) => {
            releaseFirst = resolve;
        });
    });
    await delay(20);
    const controller = new AbortController();
    const sameMix = pool.use(mix("a"), {signal: controller.signal}, async () => void ran.push("cancelled one"));
    const otherMix = new AbortController();
    const waitingForRoom = pool.use(mix("b"), {signal: otherMix.signal}, async () => void ran.push("cancelled two"));
    const last = pool.use(mix("a"), {}, async () => void ran.push("last"));
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
    const pool = new ContextPool(runtime, options({maxContexts: 1}));
    const racing = [0, 1, 2].map(() => pool.use(mix("bad"), {}, async () => "ran"));
    for (const request of racing) await assert.rejects(request, /cannot load bad/);
    assert.equal(pool.size, 0, "nothing is kept for a failed mix");
    await delay(10);
    assert.equal(pool.memory().residentBytes, 0, "the failed context's memory is counted as freed");
    failFor.clear();
    assert.equal(await pool.use(mix("bad"), {}, async () => "ran"), "ran");
    assert.equal(await pool.use(mix("good"), {}, async () => "ran"), "ran", "the failure took no room");
    assert.equal(contexts.length, 2);
    await pool.dispose();
});

// ---- memory in bytes ----

test("contexts and LoRAs never hold more than the budget, however many mixes race", async () => {
    // Each warm mix costs 64 (context) + 100 (its LoRA): three fit in 500, a fourth does not.
    const world = fakeRuntime({createMs: 4, unloadMs: 3});
    const pool = new ContextPool(world.runtime, options({memoryBudgetBytes: 500}));
    const mixes = ["a", "b", "c", "d", "e", "f"];
    let poolPeak = 0;
    const used = await Promise.all(
        Array.from({length: 60}, (_, n) =>
            pool.use(mix(mixes[(n * 7) % mixes.length] ?? "a"), {}, async ({context}) => {
                assert.ok(world.resident() <= 500, `resident ${world.resident()} > 500 while a request runs`);
                poolPeak = Math.max(poolPeak, pool.memory().residentBytes);
                await delay(1 + (n % 4));
                return fake(context).mix;
            }),
        ),
    );
    assert.deepEqual(
        used,
        Array.from({length: 60}, (_, n) => mixes[(n * 7) % mixes.length]),
    );
    assert.ok(world.peak() <= 500, `the fake llama.cpp held ${world.peak()} bytes at most, budget 500`);
    assert.ok(world.mostAlive() >= 2, "mixes did run side by side");
    assert.ok(pool.memory().peakResidentBytes <= 500);
    assert.ok(poolPeak <= 500);
    await pool.dispose();
});

test("the least recently used idle context makes room, and its LoRA is unloaded", async () => {
    const world = fakeRuntime();
    // Two warm mixes fit (2 x 164 = 328), not three.
    const pool = new ContextPool(world.runtime, options({memoryBudgetBytes: 400}));
    const run = (name: string) => pool.use(mix(name), {}, async ({created}) => created);
    assert.equal(await run("a"), true);
    assert.equal(await run("b"), true);
    assert.equal(await run("a"), false, "a is warm");
    assert.equal(await run("c"), true);
    await delay(20);
    assert.deepEqual(
        pool
            .memory()
            .contexts.map((c) => c.mix)
            .sort(),
        ["a", "c"],
        "b, the least recently used, was evicted",
    );
    assert.deepEqual([...world.loaded].sort(), ["a", "c"], "b's LoRA was unloaded");
    assert.equal(pool.memory().residentBytes, world.resident(), "the pool's account matches what is held");
    assert.ok(
        world.events.indexOf("dispose b@64") < world.events.indexOf("create c@64"),
        "c was created only after b's memory was freed",
    );
    assert.equal(await run("a"), false, "a is still warm");
    await pool.dispose();
});

test("a LoRA another warm context uses stays loaded when one of its contexts is evicted", async () => {
    const world = fakeRuntime();
    const pool = new ContextPool(world.runtime, options({memoryBudgetBytes: 450}));
    const shared: ContextMix = {
        key: "shared+x",
        loras: [
            {filePath: "shared", scale: 1},
            {filePath: "x", scale: 1},
        ],
    };
    await pool.use(mix("shared"), {}, async () => undefined);
    await pool.use(shared, {}, async () => undefined);
    // shared (64 + 100) + shared+x (64 + 100 more for x) = 328; a third mix (164) evicts "shared",
    // the least recently used, and then fits (264 + 164 <= 450).
    await pool.use(mix("y"), {}, async () => undefined);
    await delay(20);
    assert.ok(world.loaded.has("shared"), "still used by shared+x");
    assert.ok(!world.events.includes("unload shared"));
    assert.ok(world.peak() <= 450);
    await pool.dispose();
});

test("a request waits while the budget is held by contexts in use, holding nothing, and runs when one is released", async () => {
    const world = fakeRuntime();
    const pool = new ContextPool(world.runtime, options({memoryBudgetBytes: 350}));
    const holdA = held();
    const holdB = held();
    const a = pool.use(mix("a"), {}, holdA.work);
    const b = pool.use(mix("b"), {}, holdB.work);
    await delay(20);
    let cRan = false;
    const c = pool.use(mix("c"), {}, async () => {
        cRan = true;
    });
    await delay(30);
    assert.equal(cRan, false, "no room while a and b run");
    assert.equal(pool.size, 2, "c holds no context while it waits");
    holdB.release();
    await c;
    assert.equal(cRan, true);
    assert.ok(world.peak() <= 350, `peak ${world.peak()}`);
    holdA.release();
    await Promise.all([a, b]);
    await pool.dispose();
});

test("a LoRA being unloaded is loaded again only once it is freed", async () => {
    const world = fakeRuntime({unloadMs: 40});
    // One context at a time, memory to spare: b evicts a, whose LoRA then takes 40 ms to unload.
    const pool = new ContextPool(world.runtime, options({maxContexts: 1}));
    await pool.use(mix("a"), {}, async () => undefined);
    await pool.use(mix("b"), {}, async () => undefined);
    assert.ok(!world.events.includes("unload a"), "a's LoRA is still being unloaded");
    // The fake runtime fails if a's LoRA is loaded while it is being unloaded.
    assert.equal(await pool.use(mix("a"), {}, async ({created}) => created), true);
    assert.ok(world.events.indexOf("unload a") < world.events.lastIndexOf("create a@64"));
    await pool.dispose();
});

test("a LoRA this runtime cannot unload stays charged, and the budget still holds", async () => {
    const world = fakeRuntime({cannotUnload: true});
    const pool = new ContextPool(world.runtime, options({memoryBudgetBytes: 400}));
    for (const name of ["a", "b", "c"]) await pool.use(mix(name), {}, async () => undefined);
    await delay(20);
    const memory = pool.memory();
    assert.ok(memory.loras.bytes >= 200, "the LoRAs that could not be unloaded are still counted");
    assert.equal(memory.residentBytes, world.resident());
    assert.ok(world.peak() <= 400, `peak ${world.peak()}`);
    await pool.dispose();
});

test("a context larger than the whole budget runs alone rather than never", async () => {
    const world = fakeRuntime();
    const pool = new ContextPool(world.runtime, options({memoryBudgetBytes: 50}));
    const texts = await Promise.all(
        ["a", "b", "a", "c"].map((name) => pool.use(mix(name), {}, async ({context}) => fake(context).mix)),
    );
    assert.deepEqual(texts, ["a", "b", "a", "c"]);
    assert.equal(world.mostAlive(), 1, "one context at a time");
    await pool.dispose();
});

test("a request gets the smallest size class that holds it; a larger warm context of its mix serves it", async () => {
    const world = fakeRuntime();
    const pool = new ContextPool(world.runtime, options({contextSize: 8192}));
    const sizeOf = (tokens: number) =>
        pool.use(mix("a"), {tokens}, async ({context, created}) => ({size: fake(context).contextSize, created}));
    assert.deepEqual(
        [100, 1024, 1025, 3000, 8192, 9000].map((tokens) => pool.contextSizeFor(tokens)),
        [1024, 1024, 2048, 4096, 8192, 8192],
    );
    assert.deepEqual(await sizeOf(300), {size: 1024, created: true});
    assert.deepEqual(await sizeOf(900), {size: 1024, created: false});
    assert.deepEqual(await sizeOf(3000), {size: 4096, created: true});
    await delay(10);
    assert.deepEqual(
        pool.memory().contexts.map((c) => c.contextSize),
        [4096],
        "the smaller context of the same mix, which the larger one replaces, was freed",
    );
    assert.deepEqual(await sizeOf(300), {size: 4096, created: false}, "the warm larger context serves a short request");
    await pool.dispose();
    const small = new ContextPool(world.runtime, options({contextSize: 256}));
    assert.equal(small.contextSizeFor(100), 256, "a largest size below the smallest class is the only class");
    await small.dispose();
});

test("dispose fails a request whose context was waiting for memory instead of leaving it hanging", async () => {
    const world = fakeRuntime();
    const pool = new ContextPool(world.runtime, options({memoryBudgetBytes: 200}));
    const holdA = held();
    const a = pool.use(mix("a"), {}, holdA.work);
    await delay(10);
    const b = pool.use(mix("b"), {}, async () => "ran");
    await delay(10);
    const disposed = pool.dispose();
    await assert.rejects(b, /disposed/);
    holdA.release();
    await a;
    await disposed;
});
