// The whole test suite, as CI runs it: setup, type-check, lint, unit tests, integration and
// exactness tests on real models, and the lab's Python tests. Stops at the first failing stage.

import {spawnSync} from "node:child_process";
import {existsSync, readdirSync} from "node:fs";
import {dirname, join, relative} from "node:path";
import {fileURLToPath} from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const only = process.argv.slice(2);

// Node 20's test runner takes no globs: list the built test files ourselves.
function testFiles(...dirs) {
    const found = [];
    const walk = (dir) => {
        if (!existsSync(dir)) return;
        for (const entry of readdirSync(dir, {withFileTypes: true})) {
            const path = join(dir, entry.name);
            if (entry.isDirectory()) walk(path);
            else if (entry.name.endsWith(".test.js")) found.push(relative(root, path));
        }
    };
    for (const dir of dirs) walk(join(root, "dist", "test", dir));
    return found.sort();
}

const stages = [
    ["setup", "node", ["scripts/setup.mjs"]],
    ["typecheck", "npx", ["tsc", "--noEmit", "-p", "."]],
    ["lint", "npx", ["biome", "check", "."]],
    ["unit", "node", () => ["--test", "--test-concurrency=1", ...testFiles("unit")]],
    // Runtimes opened in the test process allocate as in the engine process: with its glibc settings
    // (ENGINE_MALLOC_TUNABLES in engine/isolation/hostEnvironment.ts; a unit test keeps the two equal).
    [
        "integration",
        "node",
        () => ["--test", "--test-concurrency=1", ...testFiles("exactness", "integration")],
        {
            GLIBC_TUNABLES:
                "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072",
        },
    ],
    // Faults on the real model: engine killed or stopped at each phase, concurrency, memory, seeded
    // adapter and calibration fuzzing, installs killed at every step (test/fault/README.md);
    // reports in test-results/fault/.
    ["fault", "node", () => ["--test", "--test-concurrency=1", ...testFiles("fault")]],
    ["lab-setup", "bash", ["lab/setup.sh"]],
    ["lab-lint", "lab/.venv/bin/ruff", ["check", "lab"]],
    ["lab-tests", "lab/.venv/bin/python", ["-m", "pytest", "-q", "lab/tests"]],
    // The benchmark's quick mode needs lab/.venv (scoring), so it runs after the lab's setup.
    ["bench-quick", "node", () => ["--test", "--test-concurrency=1", ...testFiles("bench")]],
    // The packaged extension in a real VS Code (code-server) driven by chromium; installs what it
    // needs on first use (see test/e2e/setup.mjs) and has its own 20-minute ceiling.
    ["e2e", "node", ["test/e2e/run.mjs"]],
];

for (const [name, command, argsOrThunk, env = {}] of stages) {
    if (only.length > 0 && !only.includes(name)) continue;
    // Test file lists are read after the build stage has produced them.
    const args = typeof argsOrThunk === "function" ? argsOrThunk() : argsOrThunk;
    process.stderr.write(`\n=== ${name}: ${command} ${args.join(" ")}\n`);
    const started = Date.now();
    const result = spawnSync(command, args, {cwd: root, stdio: "inherit", env: {...process.env, ...env}});
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.status !== 0) {
        process.stderr.write(`=== ${name} FAILED after ${seconds} s (exit ${result.status ?? result.signal})\n`);
        process.exit(1);
    }
    process.stderr.write(`=== ${name} passed in ${seconds} s\n`);
}
