// Packages the VS Code extension for one platform: `node scripts/package-vsix.mjs [linux-x64]`.
// The .vsix holds what runs and what the Marketplace shows: the bundled extension and engine
// process, the webview assets, the walkthrough, the translations, README / CHANGELOG / LICENSE and
// the images they show, the default adapter/calibration pack folders, and
// node-llama-cpp's JavaScript with only the target platform's binary package. The model is
// downloaded on first use, never packaged.
//
// vsce is run on a staging folder, not on the repository: its dependency mode would pull every
// platform's binaries (hundreds of MB, CUDA included), and its --no-dependencies mode skips a
// top-level node_modules. So the runtime packages go to dist/node_modules, where Node's
// resolution from dist/engine-host.js finds them first.

import {execFileSync} from "node:child_process";
import {cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from "node:fs";
import {dirname, join, relative} from "node:path";
import {fileURLToPath} from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const target = process.argv[2] ?? "linux-x64";
const stage = join(root, ".cache", "vsix-stage");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const out = join(root, `${pkg.name}-${pkg.version}-${target}.vsix`);

// Files of the runtime packages that never run: sources, docs, maps, types, the llama.cpp git
// bundle (node-llama-cpp only needs it to build from source, which a packaged extension never does).
const DROP = [
    /\.map$/,
    /\.d\.ts$/,
    /\.tsbuildinfo$/,
    /(^|\/)(README|CHANGELOG|HISTORY)(\.md)?$/i,
    /^node-llama-cpp\/llama\/(gitRelease\.bundle|addon|cmake|toolchains|patches|profiles|CMakeLists\.txt)/,
    /^node-llama-cpp\/templates\//,
];

function findPackage(name, fromDir) {
    for (let dir = fromDir; ; dir = dirname(dir)) {
        const candidate = join(dir, "node_modules", name);
        if (existsSync(join(candidate, "package.json"))) return candidate;
        if (dir === root || dirname(dir) === dir) return null;
    }
}

/** node-llama-cpp and everything it needs at run time, as folders under the root node_modules. */
function runtimeClosure() {
    const found = new Map();
    const visit = (name, fromDir, optional) => {
        const dir = findPackage(name, fromDir);
        if (dir === null) {
            if (optional) return;
            throw new Error(`${name} (needed from ${relative(root, fromDir)}) is not installed`);
        }
        if (found.has(dir)) return;
        found.set(dir, name);
        const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
        for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, false);
        // Of node-llama-cpp's optional binary packages only the target's goes in.
        for (const dep of Object.keys(manifest.optionalDependencies ?? {})) {
            if (dep.startsWith("@node-llama-cpp/") && dep !== `@node-llama-cpp/${target}`) continue;
            visit(dep, dir, true);
        }
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, root, false);
    if (![...found.values()].includes(`@node-llama-cpp/${target}`))
        throw new Error(`@node-llama-cpp/${target} is not installed; cannot package for ${target}`);
    return [...found.keys()];
}

rmSync(stage, {recursive: true, force: true});
mkdirSync(stage, {recursive: true});
const copy = (path) => {
    if (existsSync(join(root, path))) cpSync(join(root, path), join(stage, path), {recursive: true});
};
for (const path of [
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "package.nls.json",
    "package.nls.de.json",
    "package.nls.fr.json",
    "package.nls.es.json",
    "l10n",
    // The icon and the README's screenshots (the editor shows the README from the installed folder).
    "docs/images/icon.png",
    "docs/images/review-summarize-to-french.png",
    "docs/images/builder-reply-casual.png",
    "dist/extension.cjs",
    "dist/engine-host.js",
    "webview/dist/elements.js",
    "webview/dist/builder.js",
    "extension/walkthrough",
    "adapters",
    "calibrations",
])
    copy(path);
for (const required of ["dist/extension.cjs", "dist/engine-host.js", "webview/dist/builder.js", "LICENSE"])
    if (!existsSync(join(stage, required))) throw new Error(`${required} is missing: run the build first`);

const modulesRoot = join(root, "node_modules");
for (const dir of runtimeClosure()) {
    const rel = relative(modulesRoot, dir);
    cpSync(dir, join(stage, "dist", "node_modules", rel), {
        recursive: true,
        filter: (source) => {
            const path = relative(modulesRoot, source).split("\\").join("/");
            return !DROP.some((pattern) => pattern.test(path));
        },
    });
}

const {devDependencies: _dev, scripts: _scripts, bin: _bin, ...manifest} = pkg;
writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 4)}\n`);
writeFileSync(join(stage, ".vscodeignore"), "**/*.map\n");

rmSync(out, {force: true});
execFileSync(
    process.execPath,
    [
        join(root, "node_modules", "@vscode", "vsce", "vsce"),
        "package",
        "--no-dependencies",
        // No public repository is known yet: README's relative links stay relative (they resolve
        // in the installed extension and in a checkout) instead of being rewritten to one.
        "--allow-missing-repository",
        "--no-rewrite-relative-links",
        "--target",
        target,
        "--out",
        out,
    ],
    {cwd: stage, stdio: ["ignore", "inherit", "inherit"], timeout: 5 * 60_000},
);
process.stderr.write(`[package] ${relative(root, out)}: ${(statSync(out).size / 1e6).toFixed(1)} MB\n`);
