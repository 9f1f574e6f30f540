// Entry point: wires the engine service, the review flow, the menus and the builder together.
// Everything registered here is a disposable on the context, so deactivation leaves nothing.

import * as vscode from "vscode";
import {parseMethodChoice} from "../engine/compose/methods";
import {
    type AuxTaskId,
    describeTask,
    LANGUAGES,
    parseTaskChain,
    type TaskChain,
    TONES,
    taskChain,
} from "../engine/compose/taskChain";
import {installAdapterFromFile, installAdapterFromUrl, listAdapters, manageAdapters} from "./adapters/adapterCommands";
import {BuilderPanel} from "./builder/builderPanel";
import {
    calibratedComposites,
    calibratedContextValues,
    chainTitle,
    compositeCommandId,
    contributedComposites,
    nextTaskOptions,
    parseSavedActions,
} from "./chains/chainMenu";
import {EngineService} from "./engineService";
import {downloadModel} from "./model/modelCommands";
import {ReviewController, type RunOutcome} from "./review/reviewController";
import {ENGINE_SETTINGS, type OutputMode} from "./settings";
import {StatusBar} from "./statusBar";

/** What other extensions (and the in-host tests) can reach through `extension.exports`. */
export interface ComposerApi {
    readonly engine: EngineService;
    readonly reviews: ReviewController;
    listAdapters(): ReturnType<typeof listAdapters>;
}

export function activate(context: vscode.ExtensionContext): ComposerApi {
    const log = vscode.window.createOutputChannel(vscode.l10n.t("Composer"), {log: true});
    const engine = new EngineService(context.extensionPath, log, context.globalState);
    const reviews = new ReviewController(engine, log);
    const statusBar = new StatusBar(engine);
    context.subscriptions.push(log, engine, reviews, statusBar);

    const register = (id: string, handler: (...args: unknown[]) => unknown) =>
        context.subscriptions.push(vscode.commands.registerCommand(id, handler));

    const run = (chain: TaskChain, options: {method?: string; mode?: OutputMode} = {}): Promise<RunOutcome> => {
        const method = parseMethodChoice(options.method ?? engine.settings().defaultMethod);
        return reviews.run({chain, method, title: chainTitle(chain), ...(options.mode ? {mode: options.mode} : {})});
    };

    // Single tasks on the selection.
    register("composer.summarize", () => run(taskChain(["summarize"])));
    register("composer.suggestReply", () => run(taskChain(["reply"])));
    register("composer.translate", async (arg) => {
        const lang =
            typeof arg === "string" && (LANGUAGES as readonly string[]).includes(arg)
                ? arg
                : (
                      await vscode.window.showQuickPick(
                          LANGUAGES.map((code) => ({label: describeTask(`translate:${code}`), code})),
                          {title: vscode.l10n.t("Translate to...")},
                      )
                  )?.code;
        return lang === undefined ? undefined : run(taskChain([`translate:${lang}` as AuxTaskId]));
    });
    register("composer.changeTone", async (arg) => {
        const tone =
            typeof arg === "string" && (TONES as readonly string[]).includes(arg)
                ? arg
                : (
                      await vscode.window.showQuickPick(
                          TONES.map((name) => ({label: describeTask(`tone:${name}`), name})),
                          {title: vscode.l10n.t("Change Tone...")},
                      )
                  )?.name;
        return tone === undefined ? undefined : run(taskChain([`tone:${tone}` as AuxTaskId]));
    });

    // Any chain, by key: for keybindings, tests and the builder ({chain: "summarize+translate:fr"}).
    register("composer.runChain", (arg) => {
        const {chain, method, mode} = (typeof arg === "object" && arg !== null ? arg : {}) as Record<string, unknown>;
        if (typeof chain !== "string") throw new Error(vscode.l10n.t("composer.runChain needs {chain: string}."));
        return run(parseTaskChain(chain), {
            ...(typeof method === "string" ? {method} : {}),
            ...(typeof mode === "string" ? {mode: mode as OutputMode} : {}),
        });
    });

    // Composite shortcuts: a contributed command per main x auxiliary pair, shown in the palette
    // only while a calibration makes it one pass (see chainMenu.ts), plus a quick pick over
    // every calibrated chain whatever its length.
    for (const chain of contributedComposites()) register(compositeCommandId(chain), () => run(chain));
    const syncContext = () => {
        for (const [key, value] of calibratedContextValues(engine.capabilities))
            void vscode.commands.executeCommand("setContext", key, value);
    };
    context.subscriptions.push(engine.onDidChangeCapabilities(syncContext));
    register("composer.runComposite", async () => {
        const items = calibratedComposites(engine.capabilities);
        if (items.length === 0) {
            const manage = vscode.l10n.t("Manage Adapters");
            const choice = await vscode.window.showInformationMessage(
                vscode.l10n.t("No composite task runs in one pass yet: install an adapter pack with calibrations."),
                manage,
            );
            if (choice === manage) await vscode.commands.executeCommand("composer.manageAdapters");
            return undefined;
        }
        const picked = await vscode.window.showQuickPick(
            items.map((item) => ({
                label: item.label,
                description: vscode.l10n.t("one pass · {0}", item.method),
                detail: item.detail,
                item,
            })),
            {title: vscode.l10n.t("Run Composite Task..."), matchOnDetail: true},
        );
        return picked === undefined ? undefined : run(picked.item.chain);
    });

    // Compose...: build a chain step by step in quick picks.
    register("composer.compose", async () => {
        const tasks: Parameters<typeof taskChain>[0][number][] = [];
        for (;;) {
            const options = nextTaskOptions(tasks);
            const current = tasks.length > 0 ? taskChain(tasks) : null;
            const capability =
                current === null ? undefined : engine.capabilities.find((c) => c.chain === tasks.join("+"));
            const runItem =
                current === null
                    ? []
                    : [
                          {
                              label: `$(play) ${vscode.l10n.t("Run: {0}", chainTitle(current))}`,
                              description: capability
                                  ? capability.onePass
                                      ? vscode.l10n.t("one pass · {0}", capability.auto)
                                      : vscode.l10n.t("{0} passes (multi-step)", tasks.length)
                                  : "",
                              task: null,
                          },
                      ];
            const picked = await vscode.window.showQuickPick(
                [...runItem, ...options.map((task) => ({label: describeTask(task), description: task, task}))],
                {
                    title: vscode.l10n.t("Compose... ({0})", current === null ? "—" : chainTitle(current)),
                    placeHolder: vscode.l10n.t("Add a task, or run the chain"),
                },
            );
            if (picked === undefined) return undefined;
            if (picked.task === null) return current === null ? undefined : run(current);
            tasks.push(picked.task);
        }
    });

    // Saved actions (named chains from the builder or settings.json).
    register("composer.runSavedAction", async (arg) => {
        const {actions, problems} = parseSavedActions(
            vscode.workspace.getConfiguration("composer").get("savedActions"),
        );
        for (const problem of problems) log.warn(`composer.savedActions: ${problem}`);
        const named = typeof arg === "string" ? actions.find((action) => action.name === arg) : undefined;
        const action =
            named ??
            (
                await vscode.window.showQuickPick(
                    actions.map((a) => ({label: a.name, description: `${a.chain} · ${a.method}`, action: a})),
                    {
                        title: vscode.l10n.t("Run Saved Action..."),
                        placeHolder:
                            actions.length === 0
                                ? vscode.l10n.t("No saved actions: save one from the Task Chain Builder")
                                : undefined,
                    },
                )
            )?.action;
        return action === undefined ? undefined : run(parseTaskChain(action.chain), {method: action.method});
    });

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
        downloadModel(engine, context.extensionPath, {
            confirm: !(typeof arg === "object" && arg !== null && (arg as {confirm?: unknown}).confirm === false),
        }),
    );
    register("composer.restartEngine", () => engine.start());
    register("composer.showLog", () => log.show());
    register("composer.quickActions", async () => {
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
    });

    context.subscriptions.push(
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (ENGINE_SETTINGS.some((key) => event.affectsConfiguration(`composer.${key}`))) void engine.start();
            if (event.affectsConfiguration("composer")) statusBar.render();
        }),
        engine.onDidChangeState((state) => {
            if (state.kind === "no-model") void offerDownload(engine, context);
        }),
    );

    void engine.start().then(syncContext);
    return {engine, reviews, listAdapters: () => listAdapters(engine)};
}

let offered = false;
async function offerDownload(engine: EngineService, context: vscode.ExtensionContext): Promise<void> {
    if (offered) return;
    offered = true;
    const download = vscode.l10n.t("Download Model");
    const choice = await vscode.window.showInformationMessage(
        vscode.l10n.t("Composer needs its base model before it can write anything."),
        download,
    );
    if (choice === download) await downloadModel(engine, context.extensionPath);
}

export function deactivate(): void {
    // Disposables on the context stop the engine process.
}
