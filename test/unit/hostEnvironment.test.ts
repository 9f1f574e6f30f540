// The engine process gets glibc's allocator settings on Linux (engine/isolation/hostEnvironment.ts),
// never over a GLIBC_TUNABLES the user set, and nothing elsewhere.

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";
import {ENGINE_MALLOC_TUNABLES, engineHostEnvironment} from "../../engine/isolation/hostEnvironment";
import {repoRoot} from "../support/realModel";

test("on Linux the engine process gets the allocator settings and keeps the rest of the environment", () => {
    const env = engineHostEnvironment({PATH: "/bin", HOME: "/home/u"}, "linux");
    assert.deepEqual(env, {PATH: "/bin", HOME: "/home/u", GLIBC_TUNABLES: ENGINE_MALLOC_TUNABLES});
    assert.match(ENGINE_MALLOC_TUNABLES, /glibc\.malloc\.mmap_threshold=131072/);
});

test("a GLIBC_TUNABLES the user set wins, and other systems get the environment as it is", () => {
    const own = {GLIBC_TUNABLES: "glibc.malloc.arena_max=4"};
    assert.deepEqual(engineHostEnvironment(own, "linux"), own);
    assert.deepEqual(engineHostEnvironment({PATH: "/bin"}, "darwin"), {PATH: "/bin"});
    assert.deepEqual(engineHostEnvironment({PATH: "C:\\"}, "win32"), {PATH: "C:\\"});
});

test("the integration tests' runtimes allocate with the engine process's settings", () => {
    const script = readFileSync(join(repoRoot(), "scripts", "test.mjs"), "utf8");
    assert.ok(script.includes(`"${ENGINE_MALLOC_TUNABLES}"`), "scripts/test.mjs sets them for its integration stage");
});
