// Installing, listing, verifying and removing task adapters. The engine's AdapterStore does the
// work (validation before anything is copied, atomic installs); this file asks the user and
// reports the store's specific reason when an adapter is refused.

import * as vscode from "vscode";
import {fetchAdapter} from "../../engine/adapters/fetchAdapter";
import {AdapterStore} from "../../engine/adapters/store";
import {chainKey} from "../../engine/compose/taskChain";
import {messageForUser} from "../../engine/messages/quote";
import type {EngineService} from "../engineService";

export type InstallOutcome =
    | {readonly ok: true; readonly id: string; readonly task: string}
    | {readonly ok: false; readonly code: string; readonly message: string};

function store(engine: EngineService): AdapterStore {
    return new AdapterStore({bundledDirs: engine.adapterDirs(), writableDir: engine.cache.userAdapters});
}

function failure(error: unknown): InstallOutcome {
    const code = (error as {code?: unknown}).code;
    return {
        ok: false,
        code: typeof code === "string" ? code : "error",
        message: messageForUser((error as Error).message ?? String(error)),
    };
}

/** Installs the adapter in `source` (a folder or its manifest.json); tests call this through the command. */
export async function installAdapter(engine: EngineService, source: string, replace = false): Promise<InstallOutcome> {
    try {
        const adapter = await store(engine).install(source, await engine.base(), {replace});
        await engine.refresh();
        return {ok: true, id: adapter.manifest.id, task: chainKey(adapter.manifest.task)};
    } catch (error) {
        return failure(error);
    }
}

async function report(outcome: InstallOutcome): Promise<void> {
    if (outcome.ok)
        void vscode.window.showInformationMessage(
            vscode.l10n.t("Installed adapter {0} ({1}).", outcome.id, outcome.task),
        );
    else
        void vscode.window.showErrorMessage(
            vscode.l10n.t("The adapter was not installed ({0}): {1}", outcome.code, outcome.message),
        );
}

export async function installAdapterFromFile(
    engine: EngineService,
    source?: unknown,
): Promise<InstallOutcome | undefined> {
    let path: string | undefined = typeof source === "string" ? source : undefined;
    if (path === undefined) {
        const picked = await vscode.window.showOpenDialog({
            title: vscode.l10n.t("Install Adapter: choose an adapter folder (manifest.json + adapter.gguf)"),
            canSelectFolders: true,
            canSelectFiles: true,
            canSelectMany: false,
            filters: {[vscode.l10n.t("Adapter manifest")]: ["json"]},
        });
        path = picked?.[0]?.fsPath;
        if (path === undefined) return undefined;
    }
    const outcome = await installAdapter(engine, path);
    await report(outcome);
    return outcome;
}

export async function installAdapterFromUrl(
    engine: EngineService,
    args?: {url?: unknown; sha256?: unknown},
): Promise<InstallOutcome | undefined> {
    const url =
        typeof args?.url === "string"
            ? args.url
            : await vscode.window.showInputBox({
                  title: vscode.l10n.t("Install Adapter from URL (1/2)"),
                  prompt: vscode.l10n.t("The https URL of the adapter's manifest.json (adapter.gguf sits next to it)."),
                  placeHolder: "https://example.org/adapters/gemma3-270m.summarize/manifest.json",
                  validateInput: (value) =>
                      value.startsWith("https://") ? undefined : vscode.l10n.t("Only https URLs are accepted."),
              });
    if (url === undefined) return undefined;
    const sha256 =
        typeof args?.sha256 === "string"
            ? args.sha256
            : await vscode.window.showInputBox({
                  title: vscode.l10n.t("Install Adapter from URL (2/2)"),
                  prompt: vscode.l10n.t("The sha256 of manifest.json, as published with the adapter (required)."),
                  validateInput: (value) =>
                      /^[0-9a-f]{64}$/i.test(value.trim()) ? undefined : vscode.l10n.t("Give 64 hexadecimal digits."),
              });
    if (sha256 === undefined) return undefined;
    let outcome: InstallOutcome;
    try {
        outcome = await vscode.window.withProgress(
            {
                location: vscode.ProgressLocation.Notification,
                title: vscode.l10n.t("Downloading the adapter"),
                cancellable: true,
            },
            async (_progress, token) => {
                const abort = new AbortController();
                token.onCancellationRequested(() => abort.abort());
                const fetched = await fetchAdapter(url, sha256.trim().toLowerCase(), {
                    scratchRoot: engine.cache.root,
                    signal: abort.signal,
                });
                try {
                    return await installAdapter(engine, fetched.dir);
                } finally {
                    await fetched.cleanup();
                }
            },
        );
    } catch (error) {
        outcome = failure(error);
    }
    await report(outcome);
    return outcome;
}

interface AdapterRow {
    readonly id: string;
    readonly task: string;
    readonly base: string;
    readonly valid: boolean;
    readonly reason: string | null;
    readonly bundled: boolean;
    readonly dir: string;
}

export async function listAdapters(engine: EngineService): Promise<AdapterRow[]> {
    const entries = await store(engine).list(await engine.base());
    return entries.map((entry) =>
        entry.status === "valid"
            ? {
                  id: entry.id,
                  task: chainKey(entry.adapter.manifest.task),
                  base: entry.adapter.manifest.base.name,
                  valid: true,
                  reason: null,
                  bundled: entry.bundled,
                  dir: entry.dir,
              }
            : {
                  id: entry.id,
                  task: "?",
                  base: "?",
                  valid: false,
                  reason: `${entry.error.code}: ${entry.error.message}`,
                  bundled: entry.bundled,
                  dir: entry.dir,
              },
    );
}

export async function manageAdapters(engine: EngineService): Promise<void> {
    const rows = await listAdapters(engine);
    if (rows.length === 0) {
        const install = vscode.l10n.t("Install Adapter from File...");
        const choice = await vscode.window.showInformationMessage(vscode.l10n.t("No adapters are installed."), install);
        if (choice === install) await vscode.commands.executeCommand("composer.installAdapterFromFile");
        return;
    }
    const picked = await vscode.window.showQuickPick(
        rows.map((row) => ({
            label: `${row.valid ? "$(check)" : "$(error)"} ${row.id}`,
            description: `${row.task} · ${row.base}${row.bundled ? ` · ${vscode.l10n.t("bundled")}` : ""}`,
            detail: row.valid ? row.dir : (row.reason ?? undefined),
            row,
        })),
        {title: vscode.l10n.t("Manage Adapters"), placeHolder: vscode.l10n.t("Choose an adapter to verify or remove")},
    );
    if (picked === undefined) return;
    const verify = vscode.l10n.t("Verify");
    const remove = vscode.l10n.t("Remove");
    const action = await vscode.window.showQuickPick(picked.row.bundled ? [verify] : [verify, remove], {
        title: picked.row.id,
    });
    if (action === verify) {
        try {
            const adapter = await store(engine).verify(picked.row.id, await engine.base());
            void vscode.window.showInformationMessage(
                vscode.l10n.t("Adapter {0} is valid (sha256 {1}).", picked.row.id, adapter.sha256.slice(0, 12)),
            );
        } catch (error) {
            const {code, message} = failure(error) as {code: string; message: string};
            void vscode.window.showErrorMessage(
                vscode.l10n.t("Adapter {0} is not valid ({1}): {2}", picked.row.id, code, message),
            );
        }
    } else if (action === remove) {
        const confirm = vscode.l10n.t("Remove");
        const sure = await vscode.window.showWarningMessage(
            vscode.l10n.t("Remove adapter {0}?", picked.row.id),
            {modal: true},
            confirm,
        );
        if (sure !== confirm) return;
        try {
            await store(engine).remove(picked.row.id);
            await engine.refresh();
            void vscode.window.showInformationMessage(vscode.l10n.t("Removed adapter {0}.", picked.row.id));
        } catch (error) {
            void vscode.window.showErrorMessage((error as Error).message);
        }
    }
}
