// The Task Chain Builder: a webview (webview/builder.ts) to pick a main task and auxiliary tasks,
// see whether the chain runs in one pass, pick a method, run it on the selection with live
// output and the same review, and save it as a named action. Strict CSP with a nonce; every
// message is validated on arrival (messages.ts).

import {randomBytes} from "node:crypto";
import * as vscode from "vscode";
import {parseMethodChoice} from "../../engine/compose/methods";
import {chainKey, taskChain} from "../../engine/compose/taskChain";
import {chainTitle, parseSavedActions} from "../chains/chainMenu";
import type {EngineService} from "../engineService";
import {REVIEW_SCHEME, type ReviewController, type RunOutcome} from "../review/reviewController";
import {parseToHost, type ToHost, type ToWebview} from "./messages";

export class BuilderPanel implements vscode.Disposable {
    private static current: BuilderPanel | undefined;
    private readonly disposables: vscode.Disposable[] = [];
    private editor: vscode.TextEditor | undefined;

    static show(context: vscode.ExtensionContext, engine: EngineService, reviews: ReviewController): BuilderPanel {
        if (BuilderPanel.current !== undefined) {
            BuilderPanel.current.panel.reveal();
            return BuilderPanel.current;
        }
        const panel = vscode.window.createWebviewPanel(
            "composer.builder",
            vscode.l10n.t("Task Chain Builder"),
            {viewColumn: vscode.ViewColumn.Beside, preserveFocus: false},
            {
                enableScripts: true,
                retainContextWhenHidden: true,
                localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, "webview", "dist")],
            },
        );
        BuilderPanel.current = new BuilderPanel(panel, context.extensionUri, engine, reviews);
        return BuilderPanel.current;
    }

    private constructor(
        private readonly panel: vscode.WebviewPanel,
        extensionUri: vscode.Uri,
        private readonly engine: EngineService,
        private readonly reviews: ReviewController,
    ) {
        this.editor = usableEditor(vscode.window.activeTextEditor) ?? vscode.window.visibleTextEditors.find(usable);
        panel.webview.html = html(panel.webview, extensionUri);
        this.disposables.push(
            panel.onDidDispose(() => this.dispose()),
            panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
            vscode.window.onDidChangeActiveTextEditor((editor) => {
                if (usableEditor(editor) !== undefined) this.editor = editor;
            }),
            engine.onDidChangeCapabilities(() => this.sendInit()),
            reviews.onDidFinish((outcome) => this.post({type: "finished", outcome: outcome.state})),
        );
    }

    private post(message: ToWebview): void {
        void this.panel.webview.postMessage(message);
    }

    /** A result under review: the panel shows it with its own Accept / Reject. */
    private postReview(outcome: Extract<RunOutcome, {state: "review"}>): void {
        this.post({type: "done", text: outcome.text, method: outcome.method, note: null, placement: outcome.placement});
    }

    private sendInit(): void {
        this.post({
            type: "init",
            capabilities: this.engine.capabilities,
            hasSelection: this.editor !== undefined && !this.editor.selection.isEmpty,
        });
    }

    private async receive(raw: unknown): Promise<void> {
        let message: ToHost;
        try {
            message = parseToHost(raw);
        } catch (error) {
            // Not from our page, or a bug in it: report, never act on it.
            this.post({
                type: "error",
                message: vscode.l10n.t("Ignored a malformed message: {0}", (error as Error).message),
            });
            return;
        }
        switch (message.type) {
            case "ready":
                if (this.engine.state.kind !== "ready") await this.engine.ready().catch(() => undefined);
                this.sendInit();
                return;
            case "run": {
                const chain = taskChain(message.tasks);
                this.post({type: "started", title: chainTitle(chain)});
                const outcome = await this.reviews.run(
                    {
                        chain,
                        method: parseMethodChoice(message.method),
                        title: chainTitle(chain),
                        // The panel has its own Accept / Reject: always a review, in the place the setting gives.
                        alwaysReview: true,
                        preserveFocus: true,
                        onText: (text) => this.post({type: "text", text}),
                    },
                    this.editor,
                );
                if (outcome.state === "review") this.postReview(outcome);
                else {
                    this.post({type: "finished", outcome: outcome.state});
                    if (outcome.state === "empty") this.post({type: "error", message: outcome.message});
                }
                return;
            }
            case "review": {
                if (message.action === "cancel") {
                    this.reviews.cancel();
                    return;
                }
                const outcome =
                    message.action === "accept"
                        ? await this.reviews.accept()
                        : message.action === "reject"
                          ? await this.reviews.reject()
                          : message.action === "insertBelow"
                            ? await this.reviews.insertBelow()
                            : await this.reviews.retry();
                if (outcome.state === "review") this.postReview(outcome);
                else if (outcome.state === "refused") this.post({type: "error", message: outcome.message});
                return;
            }
            case "save": {
                const config = vscode.workspace.getConfiguration("composer");
                const {actions} = parseSavedActions(config.get("savedActions"));
                const entry = {name: message.name, chain: chainKey(taskChain(message.tasks)), method: message.method};
                await config.update(
                    "savedActions",
                    [...actions.filter((a) => a.name !== message.name), entry],
                    vscode.ConfigurationTarget.Global,
                );
                this.post({type: "saved", name: message.name});
                void vscode.window.showInformationMessage(
                    vscode.l10n.t('Saved "{0}": run it with "Composer: Run Saved Action...".', message.name),
                );
                return;
            }
        }
    }

    dispose(): void {
        if (BuilderPanel.current === this) BuilderPanel.current = undefined;
        for (const disposable of this.disposables.splice(0)) disposable.dispose();
        this.panel.dispose();
    }
}

function usable(editor: vscode.TextEditor): boolean {
    return editor.document.uri.scheme !== REVIEW_SCHEME && editor.document.uri.scheme !== "output";
}

function usableEditor(editor: vscode.TextEditor | undefined): vscode.TextEditor | undefined {
    return editor !== undefined && usable(editor) ? editor : undefined;
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
    const nonce = randomBytes(16).toString("base64");
    const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "webview", "dist", name));
    const t = vscode.l10n.t;
    const strings = {
        main: t("Main task"),
        none: t("None (rewrite only)"),
        aux: t("Auxiliary tasks"),
        method: t("Method (advanced)"),
        run: t("Run on Selection"),
        cancel: t("Cancel"),
        accept: t("Accept"),
        reject: t("Reject"),
        retry: t("Retry"),
        insertBelow: t("Insert Below"),
        save: t("Save as Action"),
        name: t("Action name"),
        output: t("Output"),
        onePass: t("Runs in one pass ({0})."),
        multi: t("No calibration installed for this chain: falls back to {0} passes (multi-step)."),
        steps: t("Runs in {0} passes (multi-step): for this chain they write better than one."),
        fallback: t("Nothing installed for this chain: runs the base model alone ({0})."),
        oneLanguage: t("A chain translates to one language: choose one."),
        unknown: t("The engine is not running, so how this chain runs is not known yet."),
        single: t("A single task: one pass ({0})."),
        empty: t("Choose at least one task."),
        ready: t("Ready ({0}): review the diff, then Accept or Reject."),
        "ready.insertBelow": t("Ready ({0}): Accept inserts it below the selection; Reject leaves the text as it is."),
        saved: t('Saved "{0}": run it with "Composer: Run Saved Action...".'),
        "outcome.applied": t("Applied to the selection."),
        "outcome.inserted": t("Inserted below the selection."),
        "outcome.opened": t("Opened in a new document (this document cannot be edited)."),
        "outcome.empty": t("The selection is empty or only whitespace: select the text to work on."),
        "outcome.rejected": t("Rejected; the document is unchanged."),
        "outcome.cancelled": t("Cancelled; the document is unchanged."),
        "outcome.failed": t("Failed; see the Composer log."),
        "outcome.refused": t("Not applied: the text changed meanwhile."),
        "outcome.nothing": t("Select text in an editor first."),
        "outcome.unchanged": t("Nothing to change: the text came back as it was."),
        noSelection: t("Select text in an editor first; the whole document is used otherwise."),
    };
    return `<!DOCTYPE html>
<html lang="${vscode.env.language}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource}; font-src ${webview.cspSource}; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${t("Task Chain Builder")}</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 16px 16px; }
fieldset { border: 1px solid var(--vscode-panel-border); border-radius: 4px; margin: 12px 0; padding: 8px 12px; }
legend { color: var(--vscode-descriptionForeground); }
.row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 8px 0; }
#verdict { padding: 6px 8px; border-left: 3px solid var(--vscode-textLink-foreground); background: var(--vscode-textBlockQuote-background); }
#verdict.multi { border-left-color: var(--vscode-editorWarning-foreground); }
#output { width: 100%; min-height: 8em; }
#error { color: var(--vscode-errorForeground); }
</style>
</head>
<body>
<h2>${t("Task Chain Builder")}</h2>
<script nonce="${nonce}" id="strings" type="application/json">${JSON.stringify(strings).replace(/</g, "\\u003c")}</script>
<div id="app" data-ready="false"></div>
<script nonce="${nonce}" type="module" src="${asset("elements.js")}"></script>
<script nonce="${nonce}" type="module" src="${asset("builder.js")}"></script>
</body>
</html>`;
}
