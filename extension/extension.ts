// Entry point: creates the engine service, the review flow and the status bar, and registers the
// commands (each group lives with its concept). Everything is a disposable on the context, so
// deactivation leaves nothing behind.

import * as vscode from "vscode";
import type {AdapterSummary} from "../engine/engine";
import {installAdapterFromFile, installAdapterFromUrl, manageAdapters} from "./adapters/adapterCommands";
import {BuilderPanel} from "./builder/builderPanel";
import {registerChainCommands} from "./chains/chainCommands";
import {EngineService} from "./engineService";
import {downloadModel} from "./model/modelCommands";
import {ReviewController} from "./review/reviewController";
import {ENGINE_SETTINGS} from "./settings";
import {StatusBar, showQuickActions} from "./statusBar";

/** What other extensions (and the in-host tests) can reach through `extension.exports`. */
export interface ComposerApi {
    readonly engine: EngineService;
    readonly reviews: ReviewController;
    listAdapters(): Promise<AdapterSummary[]>;
}

export function activate(context: vscode.ExtensionContext): ComposerApi {
    const log = vscode.window.createOutputChannel(vscode.l10n.t("Composer"), {log: true});
    const engine = new EngineService(context.extensionPath, log, context.globalState);
    const reviews = new ReviewController(engine, log);
    const statusBar = new StatusBar(engine);
    context.subscriptions.push(log, engine, reviews, statusBar);

    const register = (id: string, handler: (...args: unknown[]) => unknown) =>
        context.subscriptions.push(vscode.commands.registerCommand(id, handler));

    // Chains on the selection; the composite shortcuts' context keys follow the installed pack.
    const syncContext = registerChainCommands(register, engine, reviews, log);
    context.subscriptions.push(engine.onDidChangeCapabilities(syncContext));

    // The review.
    register("composer.review.accept", () => reviews.accept());
    register("composer.review.reject", () => reviews.reject());
    register("composer.review.retry", () => reviews.retry());
    register("composer.review.insertBelow", () => reviews.insertBelow());
    register("composer.cancel", () => reviews.cancel());

    // Builder, adapters, model, misc.
    register("composer.openBuilder", () => BuilderPanel.show(context, engine, reviews));
    register("composer.installAdapterFromFile", (arg) => installAdapterFromFile(engine, arg));
    register("composer.installAdapterFromUrl", (arg) =>
        installAdapterFromUrl(engine, typeof arg === "object" && arg !== null ? (arg as Record<string, unknown>) : {}),
    );
    register("composer.manageAdapters", () => manageAdapters(engine));
    register("composer.downloadModel", (arg) =>
        downloadModel(engine, {
            confirm: !(typeof arg === "object" && arg !== null && (arg as {confirm?: unknown}).confirm === false),
        }),
    );
    register("composer.restartEngine", () => engine.start());
    register("composer.showLog", () => log.show());
    register("composer.quickActions", showQuickActions);

    context.subscriptions.push(
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (ENGINE_SETTINGS.some((key) => event.affectsConfiguration(`composer.${key}`))) void engine.start();
            if (event.affectsConfiguration("composer")) statusBar.render();
        }),
        engine.onDidChangeState((state) => {
            if (state.kind === "no-model") void offerDownload(engine);
        }),
    );

    void engine.start().then(syncContext);
    return {engine, reviews, listAdapters: () => engine.listAdapters()};
}

let offered = false;
async function offerDownload(engine: EngineService): Promise<void> {
    if (offered) return;
    offered = true;
    const download = vscode.l10n.t("Download Model");
    const choice = await vscode.window.showInformationMessage(
        vscode.l10n.t("Composer needs its base model before it can write anything."),
        download,
    );
    if (choice === download) await downloadModel(engine);
}

export function deactivate(): void {
    // Disposables on the context stop the engine process.
}
