// Brings a fresh clone to a runnable state with nothing installed by hand: npm packages
// (from the lock file), the build, and the default base model (fetched and sha256-checked).
// Each step is skipped when already done, so running it again is cheap.

import {execFileSync} from "node:child_process";
import {createHash} from "node:crypto";
import {existsSync, readFileSync, writeFileSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const run = (command, args) => execFileSync(command, args, {cwd: root, stdio: "inherit"});
const step = (text) => process.stderr.write(`[setup] ${text}\n`);

const lockHash = createHash("sha256")
    .update(readFileSync(join(root, "package-lock.json")))
    .digest("hex");
const stamp = join(root, "node_modules", ".setup-lock-sha256");
if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== lockHash) {
    step("installing npm packages (npm ci)");
    run("npm", ["ci", "--no-audit", "--no-fund"]);
    writeFileSync(stamp, lockHash);
}
step("building");
run("node", [join(root, "scripts", "build.mjs")]);
if (!process.argv.includes("--no-model")) {
    step("fetching the default model (skipped when present and verified)");
    run("node", [join(root, "dist", "cli.js"), "models", "fetch", "default"]);
}
