// Bundles every entry point with esbuild. npm packages stay external (node-llama-cpp
// carries native binaries and is ESM-only); only the extension is CommonJS, as VS Code
// loads it with require().

import {readdirSync, statSync} from "node:fs";
import {join} from "node:path";
import {build} from "esbuild";

function findTests(dir) {
    const found = [];
    for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) found.push(...findTests(path));
        else if (name.endsWith(".test.ts")) found.push(path);
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

await Promise.all([
    build({
        ...common,
        format: "esm",
        entryPoints: {cli: "engine/cli/main.ts", "engine-host": "engine/isolation/engineHost.ts"},
        outdir: "dist",
    }),
    build({...common, format: "esm", entryPoints: findTests("test"), outdir: "dist/test", outbase: "test"}),
]);
