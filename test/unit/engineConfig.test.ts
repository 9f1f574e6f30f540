// One configuration factory: the CLI, the extension and the benchmark get their EngineConfig from
// engine/config.ts, with the defaults of engine/limits.ts applied there and nowhere else.

import assert from "node:assert/strict";
import {join} from "node:path";
import {test} from "node:test";
import {engineConfig, installedPack, packIn} from "../../engine/config";
import {DEFAULT_ENGINE_LIMITS} from "../../engine/limits";
import {cachePaths} from "../../engine/model/paths";
import {DECODING} from "../../engine/runtime/decoding";
import {DEFAULT_SETTINGS, engineConfigFor} from "../../extension/settings";

const cache = cachePaths("/home/u/.cache/composer-lc");

test("absent limits take the defaults; the engine chooses threads and each task its budget", () => {
    const config = engineConfig("/m.gguf", packIn("/work"));
    assert.deepEqual(config, {
        modelPath: "/m.gguf",
        adapterDirs: [],
        userAdapterDir: join("/work", "user-adapters"),
        calibrationDirs: [],
        cacheDir: join("/work", "expanded"),
        contextSize: DEFAULT_ENGINE_LIMITS.contextSize,
        batchSize: DEFAULT_ENGINE_LIMITS.batchSize,
        contextMemoryBytes: DEFAULT_ENGINE_LIMITS.contextMemoryBytes,
        flashAttention: DEFAULT_ENGINE_LIMITS.flashAttention,
    });
    assert.ok(!("threads" in config) && !("maxTokens" in config) && !("decoding" in config));
    assert.ok(!("maxContexts" in config), "memory alone bounds the pool unless a cap is given");
});

test("given limits win over the defaults", () => {
    const config = engineConfig("/m.gguf", packIn("/work"), {
        threads: 2,
        contextSize: 2048,
        batchSize: 64,
        contextMemoryBytes: 100_000_000,
        maxContexts: 1,
        maxTokens: 64,
        flashAttention: true,
        decoding: DECODING,
    });
    assert.deepEqual(
        [
            config.threads,
            config.contextSize,
            config.batchSize,
            config.contextMemoryBytes,
            config.maxContexts,
            config.maxTokens,
            config.flashAttention,
            config.decoding,
        ],
        [2, 2048, 64, 100_000_000, 1, 64, true, DECODING],
    );
});

test("the installed pack: bundled first, then the user's folders; calibrations bundled and in the cache", () => {
    assert.deepEqual(installedPack("/ext", cache, ["/opt/adapters"]), {
        adapterDirs: [join("/ext", "adapters"), "/opt/adapters"],
        userAdapterDir: cache.userAdapters,
        calibrationDirs: [join("/ext", "calibrations"), join(cache.root, "calibrations")],
        cacheDir: cache.expanded,
    });
});

test("the extension's default settings give exactly the CLI's configuration", () => {
    assert.deepEqual(
        engineConfigFor(DEFAULT_SETTINGS, "/m.gguf", "/ext", cache),
        engineConfig("/m.gguf", installedPack("/ext", cache)),
    );
    const tuned = engineConfigFor(
        {
            ...DEFAULT_SETTINGS,
            threads: 3,
            contextSize: 4096,
            contextMemoryMB: 512,
            maxTokens: 100,
            adapterDirectories: ["/opt/a"],
        },
        "/m.gguf",
        "/ext",
        cache,
    );
    assert.deepEqual(
        tuned,
        engineConfig("/m.gguf", installedPack("/ext", cache, ["/opt/a"]), {
            threads: 3,
            contextSize: 4096,
            contextMemoryBytes: 512 * 2 ** 20,
            maxTokens: 100,
        }),
    );
});
