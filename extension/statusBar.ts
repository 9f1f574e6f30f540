// The status bar item: the engine's state (loading, ready, error, no model) and the active
// defaults; a click opens the quick actions.

import * as vscode from "vscode";
import type {EngineService, EngineState} from "./engineService";

export class StatusBar implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem("composer.status", vscode.StatusBarAlignment.Right, 100);
    private readonly subscription: vscode.Disposable;

    constructor(private readonly engine: EngineService) {
        this.item.name = vscode.l10n.t("Composer");
        this.item.command = "composer.quickActions";
        this.subscription = engine.onDidChangeState((state) => this.render(state));
        this.render(engine.state);
        this.item.show();
    }

    render(state: EngineState = this.engine.state): void {
        const settings = this.engine.settings();
        const defaults = vscode.l10n.t("method {0}, output {1}", settings.defaultMethod, settings.outputMode);
        switch (state.kind) {
            case "starting":
                this.item.text = `$(loading~spin) ${vscode.l10n.t("Composer")}`;
                this.item.tooltip = vscode.l10n.t("Composer: loading the model…");
                this.item.backgroundColor = undefined;
                break;
            case "ready":
                // The active default is part of the text: it decides what every command does.
                this.item.text = `$(sparkle) ${vscode.l10n.t("Composer: {0}", settings.defaultMethod)}`;
                this.item.tooltip = vscode.l10n.t(
                    "Composer is ready: {0}, {1} adapters, {2} calibrations; {3}. Click for actions.",
                    state.model,
                    state.adapters,
                    state.calibrations,
                    defaults,
                );
                this.item.backgroundColor = undefined;
                break;
            case "no-model":
                this.item.text = `$(cloud-download) ${vscode.l10n.t("Composer: no model")}`;
                this.item.tooltip = state.message;
                this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
                break;
            case "error":
                this.item.text = `$(error) ${vscode.l10n.t("Composer")}`;
                this.item.tooltip = vscode.l10n.t("Composer: {0}", state.message);
                this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
                break;
        }
    }

    dispose(): void {
        this.subscription.dispose();
        this.item.dispose();
    }
}

/** The status bar's click: the actions a user looks for first. */
export async function showQuickActions(): Promise<void> {
    const actions: {label: string; command: string}[] = [
        {label: `$(sparkle) ${vscode.l10n.t("Run Composite Task...")}`, command: "composer.runComposite"},
        {label: `$(list-tree) ${vscode.l10n.t("Compose...")}`, command: "composer.compose"},
        {label: `$(tools) ${vscode.l10n.t("Open Task Chain Builder")}`, command: "composer.openBuilder"},
        {label: `$(bookmark) ${vscode.l10n.t("Run Saved Action...")}`, command: "composer.runSavedAction"},
        {label: `$(extensions) ${vscode.l10n.t("Manage Adapters")}`, command: "composer.manageAdapters"},
        {label: `$(cloud-download) ${vscode.l10n.t("Download Model")}`, command: "composer.downloadModel"},
        {label: `$(debug-restart) ${vscode.l10n.t("Restart Engine")}`, command: "composer.restartEngine"},
        {label: `$(output) ${vscode.l10n.t("Show Log")}`, command: "composer.showLog"},
        {label: `$(gear) ${vscode.l10n.t("Settings")}`, command: "workbench.action.openSettings"},
    ];
    const picked = await vscode.window.showQuickPick(actions, {title: vscode.l10n.t("Composer")});
    if (picked === undefined) return;
    if (picked.command === "workbench.action.openSettings")
        await vscode.commands.executeCommand(picked.command, "@ext:composer-lc.composer-lc");
    else await vscode.commands.executeCommand(picked.command);
}
