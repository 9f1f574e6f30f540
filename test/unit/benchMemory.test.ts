// The benchmark's memory section (bench/memory.ts, bench/report.ts): --no-memory turns it off,
// and the report sets each measure against its goal, saying "no" where one is missed.

import assert from "node:assert/strict";
import {test} from "node:test";
import {parseArgs} from "../../bench/args";
import type {MemoryResults} from "../../bench/memory";
import {memorySection} from "../../bench/report";

const pool = (residentBytes: number) => ({
    budgetBytes: 268_435_456,
    residentBytes,
    peakResidentBytes: residentBytes,
    contexts: [{mix: "m", contextSize: 1024, bytes: 32_300_000}],
    loras: {count: 1, bytes: 30_400_000},
});

function memory(warmMb: number, peakMb: number): MemoryResults {
    return {
        goals: {warmMb: 800, concurrentPeakMb: 1000},
        engine: {
            contextSize: 8192,
            batchSize: 128,
            contextMemoryMb: 268.4,
            flashAttention: false,
            threads: 1,
            maxTokens: 16,
            mallocTunables: "glibc.malloc.arena_max=1",
        },
        contextEstimates: [{contextSize: 1024, kvCacheMb: 14.9, chargedMb: 32.3}],
        basePackMb: 480,
        warm: {
            composites: ["a", "b", "c", "d"],
            rssMb: warmMb,
            meetsGoal: warmMb <= 800,
            allWarm: true,
            pool: pool(250e6),
        },
        concurrent: {
            requests: 20,
            mixes: 8,
            failed: [],
            peakRssMb: peakMb,
            meetsGoal: peakMb <= 1000,
            seconds: 30,
            pool: pool(258e6),
            again: {failed: [], peakRssMb: 750, seconds: 30},
        },
        wallSeconds: 80,
    };
}

const report = (m: MemoryResults | null) => memorySection(m).join("\n");

test("--no-memory turns the memory section off; it is on by default", () => {
    assert.equal(parseArgs([]).memory, true);
    assert.equal(parseArgs(["--no-memory"]).memory, false);
});

test("the memory section sets each measure against its goal", () => {
    const met = report(memory(737.3, 884.6));
    assert.match(met, /\| base \+ pack \+ 4 warm composites .* \| 737\.3 \| <= 800 \| yes \|/);
    assert.match(met, /\| peak under 20 concurrent requests .* \| 884\.6 \| <= 1000 \| yes \|/);
    assert.match(met, /\| the same again, every composite already fused \| 750\.0 \|/);
    const missed = report(memory(812, 1040));
    assert.match(missed, /\| 812\.0 \| <= 800 \| \*\*no\*\* \|/);
    assert.match(missed, /\| 1040\.0 \| <= 1000 \| \*\*no\*\* \|/);
    assert.match(report(null), /Not run \(--no-memory\)/);
});
