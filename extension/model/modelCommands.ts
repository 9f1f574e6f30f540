// "Download Model": says what will be fetched, how big it is and how much disk is free before
// anything starts, then shows progress with Cancel, and offers Retry after a failure. The engine
// process downloads and checks the model, and makes a derived catalog file the setting names
// from the checked download (EngineService.fetchModel).

import {stat, statfs} from "node:fs/promises";
import {dirname, join} from "node:path";
import * as vscode from "vscode";
import {type CatalogFile, catalogFile, DEFAULT_MODEL} from "../../engine/model/catalog";
import type {ModelFetchProgress} from "../../engine/model/fetch";
import {parseBaseModelSetting} from "../../engine/model/setting";
import type {EngineService} from "../engineService";

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

/** The catalog file the setting names ("default" is the pinned default download), if any. */
function catalogFileOf(setting: string): CatalogFile | undefined {
    const parsed = parseBaseModelSetting(setting);
    if (parsed.kind === "default") return {model: DEFAULT_MODEL};
    return parsed.kind === "known" ? catalogFile(parsed.id) : undefined;
}

async function isFile(path: string): Promise<boolean> {
    return stat(path).then(
        (info) => info.isFile(),
        () => false,
    );
}

/** The question before a fetch: what it puts in the models folder, and how many bytes. */
async function fetchQuestion(setting: string, modelsDir: string, free: string): Promise<string> {
    const entry = catalogFileOf(setting);
    if (entry === undefined)
        return vscode.l10n.t(
            "Download {0} ({1}) to {2}? Free disk space there: {3}.",
            setting,
            vscode.l10n.t("unknown size"),
            modelsDir,
            free,
        );
    const {model, derived} = entry;
    if (derived === undefined)
        return vscode.l10n.t(
            "Download {0} ({1}) to {2}? Free disk space there: {3}.",
            model.title,
            formatBytes(model.sizeBytes),
            modelsDir,
            free,
        );
    // A derived file is made from the download, which is fetched first when it is not there.
    if (await isFile(join(modelsDir, model.fileName)))
        return vscode.l10n.t(
            "Make {0} ({1}) in {2} from the downloaded {3}? Free disk space there: {4}.",
            derived.title,
            formatBytes(derived.sizeBytes),
            modelsDir,
            model.title,
            free,
        );
    return vscode.l10n.t(
        "Download {0} ({1}) to {2} and make {3} ({4}) from it? Free disk space there: {5}.",
        model.title,
        formatBytes(model.sizeBytes),
        modelsDir,
        derived.title,
        formatBytes(derived.sizeBytes),
        free,
    );
}

export async function downloadModel(engine: EngineService, options: DownloadOptions = {}): Promise<DownloadOutcome> {
    const free = await freeBytes(engine.cache.models);
    const start = vscode.l10n.t("Download");
    const question = await fetchQuestion(
        engine.settings().baseModel,
        engine.cache.models,
        free === null ? "?" : formatBytes(free),
    );
    engine.logInfo(question);
    if (options.confirm !== false) {
        const choice = await vscode.window.showInformationMessage(question, {modal: true}, start);
        if (choice !== start) return "declined";
    }
    for (;;) {
        const outcome = await runFetch(engine);
        if (outcome.kind === "done") {
            void vscode.window.showInformationMessage(vscode.l10n.t("The model is ready: {0}", outcome.path));
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

function describeProgress(progress: ModelFetchProgress): string {
    return progress.unit === "bytes"
        ? `${formatBytes(progress.done)} / ${formatBytes(progress.total)}`
        : `${progress.step} ${progress.done}/${progress.total}`;
}

function runFetch(engine: EngineService): Thenable<FetchOutcome> {
    return vscode.window.withProgress(
        {
            location: vscode.ProgressLocation.Notification,
            title: vscode.l10n.t("Downloading the model"),
            cancellable: true,
        },
        async (progress, token) => {
            const abort = new AbortController();
            token.onCancellationRequested(() => abort.abort());
            let last = 0;
            try {
                const path = await engine.fetchModel({
                    signal: abort.signal,
                    onProgress: (step) => {
                        const percent = step.total > 0 ? Math.floor((100 * step.done) / step.total) : 0;
                        progress.report({message: describeProgress(step), increment: Math.max(0, percent - last)});
                        last = Math.max(last, percent);
                    },
                });
                return {kind: "done", path};
            } catch (error) {
                // A cancel the engine acted on ends as cancelled; one that came too late lets the
                // download finish (the engine says so by answering with the path).
                if (abort.signal.aborted) return {kind: "cancelled"};
                return {kind: "failed", message: (error as Error).message};
            }
        },
    );
}
