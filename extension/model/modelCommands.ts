// "Download Model": says what will be fetched, how big it is and how much disk is free before
// anything starts, then shows progress with Cancel, and offers Retry after a failure.

import {fork} from "node:child_process";
import {statfs} from "node:fs/promises";
import {dirname, join} from "node:path";
import * as vscode from "vscode";
import {DEFAULT_MODEL} from "../../engine/model/catalog";
import type {EngineService} from "../engineService";
import type {FetchHostMessage} from "./modelFetchHost";

export function formatBytes(bytes: number): string {
    if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
    if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(0)} MB`;
    return `${Math.max(0, Math.round(bytes / 1e3))} KB`;
}

/** Free bytes on the disk that holds `path` (or its nearest existing parent). */
async function freeBytes(path: string): Promise<number | null> {
    let dir = path;
    for (;;) {
        try {
            const stats = await statfs(dir);
            return stats.bavail * stats.bsize;
        } catch {
            const parent = dirname(dir);
            if (parent === dir) return null;
            dir = parent;
        }
    }
}

export type DownloadOutcome = "done" | "cancelled" | "failed" | "declined";

export interface DownloadOptions {
    /** Skip the confirmation (size and free space are still logged); for automation and tests. */
    readonly confirm?: boolean;
}

export async function downloadModel(
    engine: EngineService,
    extensionRoot: string,
    options: DownloadOptions = {},
): Promise<DownloadOutcome> {
    const setting = engine.settings().baseModel;
    const isDefault = setting === "default";
    const what = isDefault ? DEFAULT_MODEL.title : setting;
    const size = isDefault ? formatBytes(DEFAULT_MODEL.sizeBytes) : vscode.l10n.t("unknown size");
    const free = await freeBytes(engine.cache.models);
    const start = vscode.l10n.t("Download");
    const question = vscode.l10n.t(
        "Download {0} ({1}) to {2}? Free disk space there: {3}.",
        what,
        size,
        engine.cache.models,
        free === null ? "?" : formatBytes(free),
    );
    engine.logInfo(question);
    if (options.confirm !== false) {
        const choice = await vscode.window.showInformationMessage(question, {modal: true}, start);
        if (choice !== start) return "declined";
    }
    for (;;) {
        const outcome = await runFetch(setting, extensionRoot);
        if (outcome.kind === "done") {
            await engine.rememberDownload(setting, outcome.path);
            void vscode.window.showInformationMessage(vscode.l10n.t("The model is ready: {0}", outcome.path));
            await engine.start();
            return "done";
        }
        if (outcome.kind === "cancelled") return "cancelled";
        const retry = vscode.l10n.t("Retry");
        const again = await vscode.window.showErrorMessage(
            vscode.l10n.t("The model download failed: {0}", outcome.message),
            retry,
        );
        if (again !== retry) return "failed";
    }
}

type FetchOutcome = {kind: "done"; path: string} | {kind: "cancelled"} | {kind: "failed"; message: string};

function runFetch(setting: string, extensionRoot: string): Thenable<FetchOutcome> {
    return vscode.window.withProgress(
        {
            location: vscode.ProgressLocation.Notification,
            title: vscode.l10n.t("Downloading the model"),
            cancellable: true,
        },
        (progress, token) =>
            new Promise<FetchOutcome>((resolve) => {
                // Its own process group, so Cancel also stops the pip or download processes it starts.
                const child = fork(join(extensionRoot, "dist", "model-fetch.js"), [setting, extensionRoot], {
                    stdio: ["ignore", "ignore", "ignore", "ipc"],
                    detached: true,
                });
                const stop = () => {
                    try {
                        if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
                    } catch {
                        child.kill();
                    }
                };
                let settled = false;
                let last = 0;
                const finish = (outcome: FetchOutcome) => {
                    if (settled) return;
                    settled = true;
                    resolve(outcome);
                };
                token.onCancellationRequested(() => {
                    stop();
                    finish({kind: "cancelled"});
                });
                child.on("message", (raw: FetchHostMessage) => {
                    if (raw?.kind === "progress") {
                        const percent = raw.total > 0 ? Math.floor((100 * raw.done) / raw.total) : 0;
                        const message =
                            raw.step === "download" && raw.total > 100
                                ? `${formatBytes(raw.done)} / ${formatBytes(raw.total)}`
                                : `${raw.step} ${raw.done}/${raw.total}`;
                        progress.report({message, increment: Math.max(0, percent - last)});
                        last = Math.max(last, percent);
                    } else if (raw?.kind === "done") finish({kind: "done", path: raw.path});
                    else if (raw?.kind === "failed") finish({kind: "failed", message: raw.message});
                });
                child.on("exit", (code) => finish({kind: "failed", message: `the download process exited (${code})`}));
            }),
    );
}
