// The extension host is VS Code glue: reading a model or artifact file, validating one and
// fetching one happen in the engine process (engine/isolation/engineHost.ts), which the extension
// asks over the validated protocol. This reads the built dist/extension.cjs, where esbuild marks
// every module it bundles with a `// <path>` line, and fails if one of those modules is in it again.

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";
import {repoRoot} from "../support/realModel";

/** Source paths (or folders) the extension bundle must not contain, and why. */
const ENGINE_ONLY: readonly {readonly path: string; readonly why: string}[] = [
    {path: "engine/gguf/", why: "reads GGUF files"},
    {path: "engine/model/fingerprint.ts", why: "reads the base model's header"},
    {path: "engine/adapters/", why: "validates, installs and downloads adapters"},
    {path: "engine/calibrations/", why: "reads and checks calibrations"},
    {path: "engine/model/fetch", why: "fetches models (fetch.ts, fetchFromPypi.ts)"},
    {path: "engine/model/download.ts", why: "downloads models"},
    {path: "engine/files/sha256.ts", why: "hashes artifacts"},
    {path: "engine/runtime/", why: "runs llama.cpp"},
    {path: "engine/engine.ts", why: "is the engine itself"},
    {path: "engine/inventory.ts", why: "validates what is installed"},
];

function bundledModules(): string[] {
    const bundle = readFileSync(join(repoRoot(), "dist", "extension.cjs"), "utf8");
    return [
        ...new Set(
            [...bundle.matchAll(/^\/\/ ((?:engine|extension|webview)\/[\w./-]+\.ts)$/gm)].map((m) => m[1] ?? ""),
        ),
    ];
}

test("the scan sees the modules of the extension bundle", () => {
    const modules = bundledModules();
    for (const expected of ["extension/extension.ts", "extension/engineService.ts", "engine/isolation/engineClient.ts"])
        assert.ok(modules.includes(expected), `${expected} is marked in dist/extension.cjs: ${modules.join(", ")}`);
});

test("the extension bundle holds no GGUF reader, validator or downloader", () => {
    const found = bundledModules().flatMap((module) =>
        ENGINE_ONLY.filter(({path}) => module.startsWith(path)).map(({why}) => `${module} (${why})`),
    );
    assert.deepEqual(found, [], "these belong in the engine process; ask it over engine/isolation/protocol.ts");
});
