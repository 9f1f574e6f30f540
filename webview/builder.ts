/// <reference lib="dom" />
// The Task Chain Builder page. It only shows state and posts validated requests; the extension
// does the work. Every message from the extension is validated before use, and the page builds
// its DOM with createElement/textContent (no HTML strings), so nothing received is ever markup.

import type {ChainCapability} from "../engine/compose/recipe";
import {AUX_TASKS, describeTask, MAIN_TASKS, orderAuxTasks, type TaskId} from "../engine/compose/taskChain";
import {
    METHOD_CHOICES,
    type MethodChoiceName,
    parseToWebview,
    savedActionNameProblem,
    type ToHost,
} from "../extension/builder/messages";

interface VsCodeApi {
    postMessage(message: ToHost): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const strings = JSON.parse(document.getElementById("strings")?.textContent ?? "{}") as Record<string, string>;
const s = (key: string, ...args: string[]) =>
    (strings[key] ?? key).replace(/\{(\d+)\}/g, (_, index: string) => args[Number(index)] ?? "");

let capabilities: readonly ChainCapability[] = [];

let running = false;
let reviewing = false;
/** A reply's review inserts below on Accept, so "Insert Below" would only repeat it. */
let inserting = false;

function el(tag: string, props: Record<string, unknown> = {}): HTMLElement {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
        if (key === "text") node.textContent = String(value);
        else if (typeof value === "boolean") node.toggleAttribute(key, value);
        else node.setAttribute(key, String(value));
    }
    return node;
}

// --- layout -------------------------------------------------------------------------------
const app = document.getElementById("app") as HTMLElement;

const mainSet = el("fieldset");
mainSet.append(el("legend", {text: s("main")}));
const mainSelect = el("vscode-single-select", {id: "main-task", "aria-label": s("main")});
mainSelect.append(el("vscode-option", {value: "", text: s("none")}));
for (const task of MAIN_TASKS) mainSelect.append(el("vscode-option", {value: task, text: describeTask(task)}));
mainSet.append(mainSelect);

const auxSet = el("fieldset");
auxSet.append(el("legend", {text: s("aux")}));
const auxBoxes = new Map<TaskId, HTMLElement>();
const auxRow = el("div", {class: "row", role: "group", "aria-label": s("aux")});
for (const task of AUX_TASKS) {
    const box = el("vscode-checkbox", {id: `aux-${task.replace(":", "-")}`, label: describeTask(task), value: task});
    auxBoxes.set(task, box);
    auxRow.append(box);
}
auxSet.append(auxRow);

const verdict = el("p", {id: "verdict", role: "status", "aria-live": "polite"});

const methodBox = el("vscode-collapsible", {title: s("method"), id: "method-section"});
const methodSelect = el("vscode-single-select", {id: "method", "aria-label": s("method")});
methodBox.append(methodSelect);

const buttons = el("div", {class: "row"});
const runButton = el("vscode-button", {id: "run", text: s("run")});
const cancelButton = el("vscode-button", {id: "cancel", secondary: true, disabled: true, text: s("cancel")});
buttons.append(runButton, cancelButton);

const output = el("vscode-textarea", {id: "output", readonly: true, rows: "8", "aria-label": s("output")});
const reviewRow = el("div", {class: "row"});
const reviewButtons = {
    accept: el("vscode-button", {id: "accept", disabled: true, text: s("accept")}),
    reject: el("vscode-button", {id: "reject", secondary: true, disabled: true, text: s("reject")}),
    retry: el("vscode-button", {id: "retry", secondary: true, disabled: true, text: s("retry")}),
    insertBelow: el("vscode-button", {id: "insert-below", secondary: true, disabled: true, text: s("insertBelow")}),
};
reviewRow.append(...Object.values(reviewButtons));

const saveRow = el("div", {class: "row"});
const nameField = el("vscode-textfield", {id: "action-name", placeholder: s("name"), "aria-label": s("name")});
const saveButton = el("vscode-button", {id: "save", secondary: true, text: s("save")});
saveRow.append(nameField, saveButton);

const status = el("p", {id: "status", role: "status", "aria-live": "polite"});
const error = el("p", {id: "error", role: "alert"});

app.append(mainSet, auxSet, verdict, methodBox, buttons, output, reviewRow, saveRow, status, error);

// --- state ---------------------------------------------------------------------------------
function value(node: HTMLElement): string {
    return String((node as unknown as {value?: unknown}).value ?? "");
}

function chosenTasks(): TaskId[] {
    const main = value(mainSelect);
    const aux = AUX_TASKS.filter((task) => (auxBoxes.get(task) as unknown as {checked?: boolean})?.checked === true);
    return [...(main === "" ? [] : [main as TaskId]), ...orderAuxTasks(aux)];
}

function setMethods(methods: readonly string[]): void {
    const current = value(methodSelect) || "auto";
    methodSelect.replaceChildren(
        ...["auto", ...methods]
            .filter((m) => (METHOD_CHOICES as readonly string[]).includes(m))
            .map((m) => el("vscode-option", {value: m, text: m, selected: m === current})),
    );
}

function render(): void {
    const tasks = chosenTasks();
    const key = tasks.join("+");
    // The chosen tasks are in canonical order (orderAuxTasks), so their key is the chain's key.
    const capability = capabilities.find((c) => c.chain === key);
    verdict.textContent =
        tasks.length === 0
            ? s("empty")
            : chainError(tasks)
              ? s("oneLanguage")
              : capability === undefined
                ? s("unknown")
                : says(capability, tasks.length);
    verdict.classList.toggle("multi", capability !== undefined && !capability.onePass);
    verdict.dataset.chain = key;
    verdict.dataset.onePass = String(capability?.onePass ?? false);
    setMethods(capability?.methods ?? []);
    const canRun = tasks.length > 0 && !running && !chainError(tasks);
    runButton.toggleAttribute("disabled", !canRun);
    saveButton.toggleAttribute("disabled", !canRun);
    cancelButton.toggleAttribute("disabled", !running);
    for (const button of Object.values(reviewButtons)) button.toggleAttribute("disabled", !reviewing || running);
    if (inserting) reviewButtons.insertBelow.toggleAttribute("disabled", true);
}

/** The engine's capability in words: it decided; the page only says it. */
function says(capability: ChainCapability, taskCount: number): string {
    if (capability.onePass) return s(taskCount === 1 ? "single" : "onePass", capability.method);
    // Multi-step with no note is the engine's choice (a reply, then its translation), not a fallback.
    if (capability.method === "multi-step")
        return s(capability.note === null ? "steps" : "multi", String(capability.passes));
    // A zero-shot fallback: the engine's note says what is missing.
    return capability.note ?? s("fallback", capability.method);
}

function chainError(tasks: TaskId[]): boolean {
    return tasks.filter((t) => t.startsWith("translate:")).length > 1;
}

function post(message: ToHost): void {
    error.textContent = "";
    vscode.postMessage(message);
}

mainSelect.addEventListener("change", render);
for (const box of auxBoxes.values()) box.addEventListener("change", render);
runButton.addEventListener("click", () => {
    const tasks = chosenTasks();
    if (tasks.length === 0 || running) return;
    post({type: "run", tasks, method: (value(methodSelect) || "auto") as MethodChoiceName});
});
cancelButton.addEventListener("click", () => post({type: "review", action: "cancel"}));
reviewButtons.accept.addEventListener("click", () => post({type: "review", action: "accept"}));
reviewButtons.reject.addEventListener("click", () => post({type: "review", action: "reject"}));
reviewButtons.retry.addEventListener("click", () => {
    running = true;
    (output as unknown as {value: string}).value = "";
    render();
    post({type: "review", action: "retry"});
});
reviewButtons.insertBelow.addEventListener("click", () => post({type: "review", action: "insertBelow"}));
saveButton.addEventListener("click", () => {
    const name = value(nameField).trim();
    const tasks = chosenTasks();
    if (name === "" || tasks.length === 0) {
        error.textContent = s("name");
        return;
    }
    const problem = savedActionNameProblem(name);
    if (problem !== null) {
        error.textContent = problem;
        return;
    }
    post({type: "save", name, tasks, method: (value(methodSelect) || "auto") as MethodChoiceName});
});

window.addEventListener("message", (event: MessageEvent) => {
    let message: ReturnType<typeof parseToWebview>;
    try {
        message = parseToWebview(event.data);
    } catch (problem) {
        console.warn(`Ignored a malformed message: ${(problem as Error).message}`);
        return;
    }
    const out = output as unknown as {value: string};
    switch (message.type) {
        case "init":
            capabilities = message.capabilities;
            status.textContent = message.hasSelection ? "" : s("noSelection");
            app.dataset.ready = "true";
            break;
        case "started":
            running = true;
            reviewing = false;
            inserting = false;
            out.value = "";
            status.textContent = message.title;
            break;
        case "text":
            out.value += message.text;
            break;
        case "done":
            running = false;
            reviewing = true;
            inserting = message.placement === "insertBelow";
            out.value = message.text;
            status.textContent =
                s(inserting ? "ready.insertBelow" : "ready", message.method) +
                (message.note ? ` — ${message.note}` : "");
            status.dataset.state = "review";
            break;
        case "finished":
            running = false;
            reviewing = false;
            inserting = false;
            status.textContent = strings[`outcome.${message.outcome}`] ?? message.outcome;
            status.dataset.state = message.outcome;
            break;
        case "error":
            running = false;
            error.textContent = message.message;
            break;
        case "saved":
            status.textContent = s("saved", message.name);
            status.dataset.state = "saved";
            break;
    }
    render();
});

render();
vscode.postMessage({type: "ready"});
