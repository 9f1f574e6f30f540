// Installing, listing, verifying and removing task adapters. The engine process does the work
// (downloads, validation before anything is copied, atomic installs); this file asks the user and
// reports the engine's specific reason when an adapter is refused.

import * as vscode from "vscode";
import type {AdapterSource, AdapterSummary} from "../../engine/engine";
import {messageForUser} from "../../engine/messages/quote";
import type {EngineService} from "../engineService";

export type InstallOutcome =
    | {readonly ok: true; readonly id: string; readonly task: string}
    | {readonly ok: false; readonly code: string; readonly message: string};

function failure(error: unknown): InstallOutcome {
    const code = (error as {code?: unknown}).code;
    return {
        ok: false,
        code: typeof code === "string" ? code : "error",
        message: messageForUser((error as Error).message ?? String(error)),
    };
}

/** Installs an adapter through the engine; tests call this through the commands. */
async function installAdapter(
    engine: EngineService,
    source: AdapterSource,
    signal?: AbortSignal,
): Promise<InstallOutcome> {
    try {
        const adapter = await engine.installAdapter(source, {signal});
        return {ok: true, id: adapter.id, task: adapter.task};
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
    const outcome = await installAdapter(engine, {kind: "folder", path});
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
    const outcome = await vscode.window.withProgress(
        {
            location: vscode.ProgressLocation.Notification,
            title: vscode.l10n.t("Downloading the adapter"),
            cancellable: true,
        },
        (_progress, token) => {
            const abort = new AbortController();
            token.onCancellationRequested(() => abort.abort());
            return installAdapter(engine, {kind: "url", url, sha256: sha256.trim().toLowerCase()}, abort.signal);
        },
    );
    await report(outcome);
    return outcome;
}

export async function manageAdapters(engine: EngineService): Promise<void> {
    let rows: AdapterSummary[];
    try {
        rows = await engine.listAdapters();
    } catch (error) {
        void vscode.window.showErrorMessage((error as Error).message);
        return;
    }
    if (rows.length === 0) {
        const install = vscode.l10n.t("Install Adapter from File...");
        const choice = await vscode.window.showInformationMessage(vscode.l10n.t("No adapters are installed."), install);
        if (choice === install) await vscode.commands.executeCommand("composer.installAdapterFromFile");
        return;
    }
    const picked = await vscode.window.showQuickPick(
        rows.map((row) => ({
            label: `${row.valid ? "$(check)" : "$(error)"} ${row.id}`,
            description: `${row.valid ? `${row.task} · ${row.base}` : "? · ?"}${row.bundled ? ` · ${vscode.l10n.t("bundled")}` : ""}${
                row.valid && row.keptForCalibrations ? ` · ${vscode.l10n.t("kept for calibrations")}` : ""
            }`,
            detail: row.valid ? row.dir : `${row.code}: ${row.reason}`,
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
            const adapter = await engine.verifyAdapter(picked.row.id);
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
            await engine.removeAdapter(picked.row.id);
            void vscode.window.showInformationMessage(vscode.l10n.t("Removed adapter {0}.", picked.row.id));
        } catch (error) {
            void vscode.window.showErrorMessage((error as Error).message);
        }
    }
}
