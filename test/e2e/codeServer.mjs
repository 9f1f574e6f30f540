// Starts and stops code-server (real VS Code 1.139 server + workbench) for the e2e tests:
// its own user data, extensions and settings in a scratch folder, quiet and offline, started
// with setsid (detached) and stopped by process group so none of its children outlive it.

import {execFileSync, spawn} from "node:child_process";
import {mkdirSync, readdirSync, writeFileSync} from "node:fs";
import {createServer} from "node:net";
import {join} from "node:path";
import {codeServerBin, node24Dir} from "./setup.mjs";

const node24 = join(node24Dir, "bin", "node");

export function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const {port} = server.address();
            server.close(() => resolve(port));
        });
    });
}

/** Installs the .vsix into `extensionsDir`; returns the installed extension's folder. */
export function installVsix(vsix, userDataDir, extensionsDir) {
    execFileSync(
        node24,
        [codeServerBin, "--user-data-dir", userDataDir, "--extensions-dir", extensionsDir, "--install-extension", vsix],
        {stdio: ["ignore", "inherit", "inherit"], timeout: 120_000, env: {...process.env, EXTENSIONS_GALLERY: "{}"}},
    );
    const installed = readdirSync(extensionsDir).find((name) => name.startsWith("composer-lc.composer-lc-"));
    if (installed === undefined) throw new Error(`the .vsix was not installed in ${extensionsDir}`);
    return join(extensionsDir, installed);
}

/**
 * Writes the same settings as user settings and as the remote machine's settings: in a remote
 * window (which code-server's are) machine-scoped settings such as composer.baseModel are read
 * from the machine file, and the extension development window does not read the user file.
 */
export function writeUserSettings(userDataDir, settings) {
    const text = JSON.stringify(
        {
            "telemetry.telemetryLevel": "off",
            "update.mode": "none",
            "extensions.autoUpdate": false,
            "extensions.autoCheckUpdates": false,
            "extensions.ignoreRecommendations": true,
            "chat.disableAIFeatures": true,
            "workbench.startupEditor": "none",
            "workbench.tips.enabled": false,
            "workbench.enableExperiments": false,
            // Trust on, as users have it: the test folders open in Restricted Mode (never trusted
            // here), which is what lets the suite check that workspace settings cannot point the
            // extension at model or adapter files. No prompt, no banner.
            "security.workspace.trust.enabled": true,
            "security.workspace.trust.startupPrompt": "never",
            "security.workspace.trust.banner": "never",
            "security.workspace.trust.emptyWindow": false,
            "git.enabled": false,
            "editor.minimap.enabled": false,
            "files.autoSave": "off",
            "window.restoreWindows": "none",
            "workbench.secondarySideBar.defaultVisibility": "hidden",
            // VS Code's proxy support replaces fetch's CA list in the extension host, which
            // would ignore NODE_EXTRA_CA_CERTS (the tests' https server); nothing here uses a proxy.
            "http.proxySupport": "off",
            "http.fetchAdditionalSupport": false,
            "http.systemCertificates": false,
            "[markdown]": {"editor.wordWrap": "off"},
            ...settings,
        },
        null,
        4,
    );
    for (const scope of ["User", "Machine"]) {
        mkdirSync(join(userDataDir, scope), {recursive: true});
        writeFileSync(join(userDataDir, scope, "settings.json"), text);
    }
}

/**
 * Starts code-server on 127.0.0.1:`port`; resolves once it answers HTTP. `env` is passed to it
 * (and so to the extension host and the engine process).
 */
export async function startCodeServer({port, userDataDir, extensionsDir, workspace, logFile, env}) {
    const config = join(userDataDir, "code-server.yaml");
    writeFileSync(config, "auth: none\ncert: false\n");
    const {openSync} = await import("node:fs");
    const log = openSync(logFile, "a");
    const child = spawn(
        node24,
        [
            codeServerBin,
            "--config",
            config,
            "--user-data-dir",
            userDataDir,
            "--extensions-dir",
            extensionsDir,
            "--bind-addr",
            `127.0.0.1:${port}`,
            "--auth",
            "none",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-getting-started-override",
            "--ignore-last-opened",
            "--reconnection-grace-time",
            "5",
            "--vscode-option",
            "enable-smoke-test-driver",
            workspace,
        ],
        {
            // detached: the child calls setsid(), so it leads its own process group.
            detached: true,
            stdio: ["ignore", log, log],
            env: {
                ...process.env,
                ...env,
                EXTENSIONS_GALLERY: "{}",
                PATH: `${join(node24Dir, "bin")}:${process.env.PATH}`,
            },
        },
    );
    const stop = () => {
        try {
            process.kill(-child.pid, "SIGTERM");
        } catch {
            return;
        }
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
            try {
                process.kill(-child.pid, 0);
            } catch {
                return;
            }
            execFileSync("sleep", ["0.2"]);
        }
        try {
            process.kill(-child.pid, "SIGKILL");
        } catch {
            // already gone
        }
    };
    process.once("exit", stop);
    const deadline = Date.now() + 60_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}); see ${logFile}`);
        try {
            const response = await fetch(`http://127.0.0.1:${port}/healthz`);
            if (response.ok) break;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) {
            stop();
            throw new Error(`code-server did not start within 60 s; see ${logFile}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
    }
    return {url: `http://127.0.0.1:${port}`, stop};
}
