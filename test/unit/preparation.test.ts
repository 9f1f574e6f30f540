// Background preparation (engine/preparation.ts): steps run one at a time in order, only while
// no request is in flight, a failed step is reported and the rest still run, and a stop (the
// engine closing) ends it even while it waits for a request. The real engine's preparation is
// in test/integration/preparation.test.ts. Also the pool's context shapes it prepares.

import assert from "node:assert/strict";
import {test} from "node:test";
import {setTimeout as delay} from "node:timers/promises";
import {IdleGate, type PreparationStep, prepare} from "../../engine/preparation";
import {ContextPool} from "../../engine/runtime/contextPool";
import type {LlamaRuntime} from "../../engine/runtime/llamaRuntime";

function recordingSteps(names: readonly string[], log: string[], fail: ReadonlySet<string> = new Set()) {
    return names.map(
        (name): PreparationStep => ({
            what: name,
            run: async () => {
                log.push(`start ${name}`);
                await delay(2);
                log.push(`end ${name}`);
                if (fail.has(name)) throw new Error(`${name} broke`);
            },
        }),
    );
}

test("steps run one after another, in order; a failure is reported and the next steps still run", async () => {
    const log: string[] = [];
    const report = await prepare(
        recordingSteps(["a", "b", "c"], log, new Set(["b"])),
        new IdleGate(),
        new AbortController().signal,
    );
    assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
    assert.equal(report.finished, true);
    assert.deepEqual(
        report.steps.map((step) => [step.what, step.error ?? null]),
        [
            ["a", null],
            ["b", "b broke"],
            ["c", null],
        ],
    );
});

test("no step starts while a request is in flight; the next starts once it leaves", async () => {
    const gate = new IdleGate();
    const log: string[] = [];
    const leave = gate.enter();
    const steps: PreparationStep[] = [
        {
            what: "a",
            run: async () => {
                log.push("start a");
                // A request arrives while "a" runs and leaves 20 ms later: "b" waits for it.
                const request = gate.enter();
                setTimeout(() => {
                    log.push("request left");
                    request();
                }, 20);
                log.push("end a");
            },
        },
        ...recordingSteps(["b"], log),
    ];
    const report = prepare(steps, gate, new AbortController().signal);
    await delay(20);
    assert.deepEqual(log, [], "a step ran beside a request");
    leave();
    leave(); // leaving twice counts once
    await report;
    assert.deepEqual(log, ["start a", "end a", "request left", "start b", "end b"]);
    assert.equal(gate.idle, true);
});

test("a stop ends the preparation even while it waits for a request, and no further step runs", async () => {
    const gate = new IdleGate();
    const log: string[] = [];
    const stop = new AbortController();
    const leave = gate.enter();
    const report = prepare(recordingSteps(["a", "b"], log), gate, stop.signal);
    stop.abort();
    const done = await report;
    assert.equal(done.finished, false);
    assert.deepEqual(done.steps, []);
    leave();
    await delay(10);
    assert.deepEqual(log, []);
});

test("the pool's context shapes are its size classes, smallest first, with its batch and attention", () => {
    const pool = new ContextPool({} as LlamaRuntime, {
        contextSize: 8192,
        batchSize: 128,
        flashAttention: false,
        memoryBudgetBytes: 1,
        contextBytes: () => 1,
    });
    assert.deepEqual(
        pool.shapes().map((shape) => shape.contextSize),
        [1024, 2048, 4096, 8192],
    );
    assert.ok(pool.shapes().every((shape) => shape.batchSize === 128 && shape.flashAttention === false));
    const small = new ContextPool({} as LlamaRuntime, {
        contextSize: 512,
        batchSize: 64,
        flashAttention: true,
        memoryBudgetBytes: 1,
        contextBytes: () => 1,
    });
    assert.deepEqual(small.shapes(), [{contextSize: 512, batchSize: 64, flashAttention: true}]);
});
