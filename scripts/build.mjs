// Bundles every entry point with esbuild. npm packages stay external (node-llama-cpp
// carries native binaries and is ESM-only); only the extension is CommonJS, as VS Code
// loads it with require().

import {copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync} from "node:fs";
import {join} from "node:path";
import {build} from "esbuild";

function findTests(dir) {
    const found = [];
    for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) found.push(...findTests(path));
        else if (name.endsWith(".test.ts") && !path.includes(`${join("test", "e2e")}`)) found.push(path);
    }
    return found;
}

const common = {
    bundle: true,
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    packages: "external",
    logLevel: "warning",
};

// The tests are found by listing dist/test (scripts/test.mjs): a test deleted from test/ must
// not go on running from an earlier build.
rmSync("dist/test", {recursive: true, force: true});

await Promise.all([
    build({
        ...common,
        format: "esm",
        entryPoints: {
            cli: "engine/cli/main.ts",
            "engine-host": "engine/isolation/engineHost.ts",
            bench: "bench/run.ts",
            "bench-base": "bench/baseModels.ts",
        },
        outdir: "dist",
    }),
    build({...common, format: "esm", entryPoints: findTests("test"), outdir: "dist/test", outbase: "test"}),
    // The VS Code extension: CommonJS, `vscode` provided by the host. Its engine code is bundled
    // in; node-llama-cpp must never be (it is ESM with native parts and runs in engine-host.js).
    build({
        ...common,
        format: "cjs",
        entryPoints: {extension: "extension/extension.ts"},
        outExtension: {".js": ".cjs"},
        outdir: "dist",
        external: ["vscode"],
    }),
    // The task-chain builder page, for the browser.
    build({
        ...common,
        platform: "browser",
        target: "chrome120",
        format: "esm",
        packages: undefined,
        sourcemap: false,
        entryPoints: {builder: "webview/builder.ts"},
        outdir: "webview/dist",
    }),
    // In-extension-host test suites (run inside code-server by test/e2e/run.mjs).
    build({
        ...common,
        format: "cjs",
        packages: undefined,
        external: ["vscode", "node-llama-cpp"],
        entryPoints: {suite: "test/e2e/host/suite.ts"},
        outExtension: {".js": ".cjs"},
        outdir: "dist/test/e2e",
    }),
    build({...common, format: "esm", entryPoints: {prepare: "test/e2e/prepare.ts"}, outdir: "dist/test/e2e"}),
]);

mkdirSync("webview/dist", {recursive: true});
copyFileSync("node_modules/@vscode-elements/elements/dist/bundled.js", "webview/dist/elements.js");

// The extension host loads extension.cjs with require(): an ESM-only import there would fail at
// activation, so fail the build instead.
if (/require\(["']node-llama-cpp["']\)/.test(readFileSync("dist/extension.cjs", "utf8")))
    throw new Error("dist/extension.cjs requires node-llama-cpp; keep it in engine-host.js");
