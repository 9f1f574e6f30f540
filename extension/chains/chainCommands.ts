// The commands that run a task chain on the selection: single tasks, any chain by key, the
// composite shortcuts, Compose... (quick picks) and saved actions. Each one ends in
// the review flow; what the menus offer comes from chainMenu.ts (pure, unit tested).

import * as vscode from "vscode";
import {parseMethodChoice} from "../../engine/compose/methods";
import type {ChainCapability} from "../../engine/compose/recipe";
import {
    type AuxTaskId,
    chainKey,
    describeTask,
    LANGUAGES,
    parseTaskChain,
    type TaskChain,
    TONES,
    taskChain,
} from "../../engine/compose/taskChain";
import type {EngineService} from "../engineService";
import {OUTPUT_MODES, type OutputMode} from "../review/outputPlan";
import type {ReviewController, RunOutcome} from "../review/reviewController";
import {
    chainTitle,
    compositeCommandId,
    contributedComposites,
    nextTaskOptions,
    offeredComposites,
    offeredContextValues,
    parseSavedActions,
} from "./chainMenu";

/** "<kind>:<arg>" when the command was given a known value (keybindings), else the user's pick. */
async function chooseAuxTask(
    kind: "translate" | "tone",
    values: readonly string[],
    arg: unknown,
    title: string,
): Promise<AuxTaskId | undefined> {
    if (typeof arg === "string" && values.includes(arg)) return `${kind}:${arg}` as AuxTaskId;
    const tasks = values.map((value) => `${kind}:${value}` as AuxTaskId);
    const picked = await vscode.window.showQuickPick(
        tasks.map((task) => ({label: describeTask(task), task})),
        {title},
    );
    return picked?.task;
}

/** The capability as a quick pick shows it: one pass, several passes, or a fallback and why. */
function howItRuns(capability: ChainCapability): {description: string; detail?: string} {
    if (capability.onePass) return {description: vscode.l10n.t("one pass · {0}", capability.method)};
    const description =
        capability.method === "multi-step"
            ? vscode.l10n.t("{0} passes (multi-step)", capability.passes)
            : vscode.l10n.t("{0}, without adapters for this chain", capability.method);
    return capability.note === null ? {description} : {description, detail: capability.note};
}

export type RegisterCommand = (id: string, handler: (...args: unknown[]) => unknown) => void;

/** Registers the chain commands; returns the function that syncs the composite context keys. */
export function registerChainCommands(
    register: RegisterCommand,
    engine: EngineService,
    reviews: ReviewController,
    log: vscode.LogOutputChannel,
): () => void {
    const run = (chain: TaskChain, options: {method?: string; mode?: OutputMode} = {}): Promise<RunOutcome> => {
        const method = parseMethodChoice(options.method ?? engine.settings().defaultMethod);
        return reviews.run({chain, method, title: chainTitle(chain), ...(options.mode ? {mode: options.mode} : {})});
    };

    // Single tasks on the selection.
    register("composer.summarize", () => run(taskChain(["summarize"])));
    register("composer.suggestReply", () => run(taskChain(["reply"])));
    register("composer.translate", async (arg) => {
        const task = await chooseAuxTask("translate", LANGUAGES, arg, vscode.l10n.t("Translate to..."));
        return task === undefined ? undefined : run(taskChain([task]));
    });
    register("composer.changeTone", async (arg) => {
        const task = await chooseAuxTask("tone", TONES, arg, vscode.l10n.t("Change Tone..."));
        return task === undefined ? undefined : run(taskChain([task]));
    });

    // Any chain, by key: for keybindings, tests and the builder ({chain: "summarize+translate:fr"}).
    register("composer.runChain", (arg) => {
        const {chain, method, mode} = (typeof arg === "object" && arg !== null ? arg : {}) as Record<string, unknown>;
        if (typeof chain !== "string") throw new Error(vscode.l10n.t("composer.runChain needs {chain: string}."));
        if (mode !== undefined && !(OUTPUT_MODES as readonly unknown[]).includes(mode))
            throw new Error(
                vscode.l10n.t(
                    "composer.runChain: unknown mode {0}; known modes: {1}.",
                    JSON.stringify(mode),
                    OUTPUT_MODES.join(", "),
                ),
            );
        return run(parseTaskChain(chain), {
            ...(typeof method === "string" ? {method} : {}),
            ...(mode !== undefined ? {mode: mode as OutputMode} : {}),
        });
    });

    // Composite shortcuts: a contributed command per main x auxiliary pair, shown in the palette
    // only while it runs as trained, not as a fallback (see chainMenu.ts), plus a quick pick over
    // every such chain whatever its length.
    for (const chain of contributedComposites()) register(compositeCommandId(chain), () => run(chain));
    const syncContext = () => {
        for (const [key, value] of offeredContextValues(engine.capabilities))
            void vscode.commands.executeCommand("setContext", key, value);
    };
    register("composer.runComposite", async () => {
        const items = offeredComposites(engine.capabilities);
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
                description: howItRuns(item.capability).description,
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
                current === null ? undefined : engine.capabilities.find((c) => c.chain === chainKey(current));
            const runItem =
                current === null
                    ? []
                    : [
                          {
                              label: `$(play) ${vscode.l10n.t("Run: {0}", chainTitle(current))}`,
                              ...(capability === undefined ? {} : howItRuns(capability)),
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

    return syncContext;
}
