// In-extension-host tests: this file runs inside code-server's real extension host (the
// test-electron model: VS Code calls `run()` and reports its outcome), against the packaged
// extension, the real default model, and the adapters test/e2e/prepare.ts made. Commands are
// driven through the VS Code API; the UI flows are in test/e2e/run.mjs.

import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import {readFile} from "node:fs/promises";
import {join} from "node:path";
import * as vscode from "vscode";
import type {ComposerApi} from "../../../extension/extension";
import type {RunOutcome} from "../../../extension/review/reviewController";

const EXTENSION_ID = "composer-lc.composer-lc";
const work = process.env.COMPOSER_E2E_WORK ?? "";

type Test = {name: string; fn: () => Promise<void>};
const tests: Test[] = [];
const test = (name: string, fn: () => Promise<void>) => tests.push({name, fn});

let api: ComposerApi;

async function openSample(text: string, language = "markdown"): Promise<vscode.TextEditor> {
    const document = await vscode.workspace.openTextDocument({content: text, language});
    return vscode.window.showTextDocument(document, {preview: false});
}

/** samples/email.txt (run.mjs copies it into the work folder): a real mailing-list email. */
async function emailSelected(): Promise<{editor: vscode.TextEditor; email: string}> {
    const email = await readFile(join(work, "email.txt"), "utf8");
    assert.ok(email.endsWith("\n") && email.split(/\s+/).length > 150, "the sample is a whole email");
    const editor = await openSample(email, "plaintext");
    const end = editor.document.positionAt(email.length);
    editor.selection = new vscode.Selection(new vscode.Position(0, 0), end);
    return {editor, email};
}

/**
 * The review's right-hand document (the text as it will read after Accept), once it shows
 * `expected`: the provider's last update reaches the document asynchronously.
 */
async function proposalDocument(expected: string): Promise<vscode.TextDocument> {
    const [tab] = diffTabs();
    assert.ok(tab?.input instanceof vscode.TabInputTextDiff, "the review's diff is open");
    const document = await vscode.workspace.openTextDocument(tab.input.modified);
    for (let i = 0; i < 50 && document.getText() !== expected; i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(document.getText(), expected, "the diff shows the text as it will read");
    return document;
}

function select(editor: vscode.TextEditor, needle: string): vscode.Range {
    const text = editor.document.getText();
    const start = text.indexOf(needle);
    assert.ok(start >= 0, `"${needle.slice(0, 20)}..." is in the document`);
    const range = new vscode.Range(
        editor.document.positionAt(start),
        editor.document.positionAt(start + needle.length),
    );
    editor.selection = new vscode.Selection(range.start, range.end);
    return range;
}

function diffTabs(): vscode.Tab[] {
    return vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .filter(
            (tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === "composer-review",
        );
}

const BEFORE = "# Notes\n\nKeep this line.\n\n";
const PARAGRAPH =
    "#Person1#: Are you coming to the meeting on Thursday?\n#Person2#: No, my flight was moved. I will send the numbers tonight.";
const AFTER = "\n\nAnd this one too.\n";

/** A new editor holding BEFORE + PARAGRAPH + AFTER with PARAGRAPH selected. */
async function paragraphSelected(): Promise<vscode.TextEditor> {
    const editor = await openSample(BEFORE + PARAGRAPH + AFTER);
    select(editor, PARAGRAPH);
    return editor;
}

/** composer.runChain on the selection, as a keybinding or the builder calls it. */
async function runChain(chain: string, mode?: string): Promise<RunOutcome> {
    return (await vscode.commands.executeCommand("composer.runChain", {chain, ...(mode ? {mode} : {})})) as RunOutcome;
}

test("the extension activates and its engine gets ready on the real model", async () => {
    const extension = vscode.extensions.getExtension<ComposerApi>(EXTENSION_ID);
    assert.ok(extension, "the extension is installed");
    api = extension.isActive ? extension.exports : await extension.activate();
    // Short generations keep the suite quick on a shared 2-core machine (read per request).
    await vscode.workspace.getConfiguration("composer").update("maxTokens", 24, vscode.ConfigurationTarget.Global);
    await api.engine.ready();
    console.log(`settings: ${JSON.stringify(api.engine.settings())}`);
    assert.equal(api.engine.state.kind, "ready");
});

test("in an untrusted workspace, workspace settings cannot point the extension at model or adapter files", async () => {
    // run.mjs wrote .vscode/settings.json in this folder with a model path, an adapter folder and
    // an output mode; the folder is not trusted, so only the (unrestricted) output mode applies.
    assert.equal(vscode.workspace.isTrusted, false, "the test folder opens in Restricted Mode");
    const config = vscode.workspace.getConfiguration("composer");
    assert.equal(config.inspect("outputMode")?.workspaceValue, "auto", "the workspace's settings file is read");
    // VS Code drops the restricted ones (package.json restrictedConfigurations) in Restricted Mode...
    assert.equal(config.inspect("baseModel")?.workspaceValue, undefined);
    assert.equal(config.inspect("adapterDirectories")?.workspaceValue, undefined);
    // ...so the engine runs on the user's own model and adapter folders.
    const settings = api.engine.settings();
    assert.doesNotMatch(settings.baseModel, /untrusted/);
    assert.ok(!api.engine.adapterDirs().some((dir) => dir.includes("untrusted")));
    assert.equal(api.engine.state.kind, "ready");
});

test("Summarize to French is a one-pass composite derived from the installed calibration", async () => {
    const capability = api.engine.capabilities.find((c) => c.chain === "summarize+translate:fr");
    assert.ok(capability, "the engine reports the chain");
    assert.equal(capability.onePass, true);
    assert.equal(capability.method, "lc++");
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes("composer.composite.summarize.translate-fr"));
    // The test's paraphrase + Spanish calibration names adapters that are not installed yet, and the
    // bundled pack does not calibrate that chain, so it must not be offered as one pass.
    const notYet = api.engine.capabilities.find((c) => c.chain === "tone:paraphrase+translate:es");
    assert.equal(notYet?.onePass, false, "paraphrase + Spanish is not one pass before its adapters are installed");
});

test("review then accept replaces exactly the selection, and one undo restores it", async () => {
    const editor = await paragraphSelected();
    const outcome = (await vscode.commands.executeCommand("composer.composite.summarize.translate-fr")) as RunOutcome;
    assert.equal(outcome.state, "review", JSON.stringify(outcome));
    assert.ok(outcome.state === "review" && outcome.method === "lc++");
    const proposal = outcome.state === "review" ? outcome.text : "";
    assert.ok(proposal.length > 0, "a proposal was generated");
    assert.equal(diffTabs().length, 1, "the diff is open");
    assert.equal(editor.document.getText(), BEFORE + PARAGRAPH + AFTER, "nothing changes before Accept");

    const accepted = (await vscode.commands.executeCommand("composer.review.accept")) as RunOutcome;
    assert.equal(accepted.state, "applied", JSON.stringify(accepted));
    assert.equal(editor.document.getText(), BEFORE + proposal + AFTER, "exactly the selected range was replaced");
    assert.equal(diffTabs().length, 0, "the diff is closed");

    await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand("undo");
    assert.equal(editor.document.getText(), BEFORE + PARAGRAPH + AFTER, "one undo restores the original");
});

test("reject leaves the document unchanged", async () => {
    const editor = await paragraphSelected();
    const version = editor.document.version;
    const outcome = await runChain("summarize+translate:fr");
    assert.equal(outcome.state, "review");
    const rejected = (await vscode.commands.executeCommand("composer.review.reject")) as RunOutcome;
    assert.equal(rejected.state, "rejected");
    assert.equal(editor.document.getText(), BEFORE + PARAGRAPH + AFTER);
    assert.equal(editor.document.version, version, "not even touched");
    assert.equal(diffTabs().length, 0);
});

test("cancelling stops the generation and leaves the document untouched", async () => {
    const editor = await paragraphSelected();
    const version = editor.document.version;
    let pieces = 0;
    const outcome = await api.reviews.run({
        chain: {main: "summarize", aux: ["translate:fr"]},
        method: "zero-shot",
        title: "cancel test",
        onText: () => {
            pieces++;
            // What the progress notification's Cancel button does.
            void vscode.commands.executeCommand("composer.cancel");
        },
    });
    assert.equal(outcome.state, "cancelled", JSON.stringify(outcome));
    assert.ok(pieces >= 1 && pieces < 10, `stopped after ${pieces} pieces`);
    assert.equal(editor.document.getText(), BEFORE + PARAGRAPH + AFTER);
    assert.equal(editor.document.version, version, "not even touched");
    assert.equal(diffTabs().length, 0);
});

test("an edit inside the selection during review makes Accept refuse instead of overwriting", async () => {
    const editor = await paragraphSelected();
    const outcome = await runChain("summarize+translate:fr");
    assert.equal(outcome.state, "review");
    const edit = new vscode.WorkspaceEdit();
    edit.insert(editor.document.uri, editor.document.positionAt(BEFORE.length + 12), "EDITED ");
    assert.ok(await vscode.workspace.applyEdit(edit));
    const edited = editor.document.getText();
    const accepted = (await vscode.commands.executeCommand("composer.review.accept")) as RunOutcome;
    assert.equal(accepted.state, "refused", JSON.stringify(accepted));
    assert.equal(editor.document.getText(), edited, "the user's edit is kept, nothing overwritten");
    await vscode.commands.executeCommand("composer.review.reject");
});

test("an edit before the selection shifts it: Accept still replaces exactly the original text", async () => {
    const editor = await paragraphSelected();
    const outcome = await runChain("summarize+translate:fr");
    assert.equal(outcome.state, "review");
    const edit = new vscode.WorkspaceEdit();
    edit.insert(editor.document.uri, new vscode.Position(0, 0), "Added first.\n");
    assert.ok(await vscode.workspace.applyEdit(edit));
    const accepted = (await vscode.commands.executeCommand("composer.review.accept")) as RunOutcome;
    assert.equal(accepted.state, "applied", JSON.stringify(accepted));
    const proposal = outcome.state === "review" ? outcome.text : "";
    assert.equal(editor.document.getText(), `Added first.\n${BEFORE}${proposal}${AFTER}`);
});

test("output mode insert below keeps the selection and adds the result under it", async () => {
    const editor = await paragraphSelected();
    const outcome = await runChain("summarize", "insertBelow");
    assert.equal(outcome.state, "inserted", JSON.stringify(outcome));
    const text = outcome.state === "inserted" ? outcome.text : "";
    assert.equal(editor.document.getText(), `${BEFORE}${PARAGRAPH}\n\n${text}${AFTER}`);
});

test("output mode replace applies at once, and a new document leaves the source alone", async () => {
    const editor = await paragraphSelected();
    const replaced = await runChain("summarize", "replace");
    assert.equal(replaced.state, "applied", JSON.stringify(replaced));
    assert.equal(editor.document.getText(), BEFORE + (replaced.state === "applied" ? replaced.text : "") + AFTER);

    const other = await paragraphSelected();
    const version = other.document.version;
    const opened = await runChain("summarize", "newDocument");
    assert.equal(opened.state, "opened", JSON.stringify(opened));
    assert.equal(other.document.version, version);
    assert.equal(vscode.window.activeTextEditor?.document.getText(), opened.state === "opened" ? opened.text : "");
});

test("Suggest Reply on an email: a wrapped diff shows the reply below it; Accept inserts it and keeps the email", async () => {
    const {editor, email} = await emailSelected();
    const outcome = (await vscode.commands.executeCommand("composer.suggestReply")) as RunOutcome;
    assert.equal(outcome.state, "review", JSON.stringify(outcome));
    assert.ok(outcome.state === "review" && outcome.placement === "insertBelow", "Accept will insert, not replace");
    const reply = outcome.text;
    assert.ok(reply.trim().length > 0, "a reply was generated");
    // The whole email was selected with its final newline; the reply goes after its last line.
    const body = email.slice(0, -1);
    // The diff shows the email with the reply below it.
    const proposal = await proposalDocument(`${body}\n\n${reply}`);
    // Word wrap: the review documents have their own language, whose default wraps.
    assert.equal(proposal.languageId, "composer-review");
    assert.equal(vscode.workspace.getConfiguration("editor", proposal).get("wordWrap"), "on");
    assert.equal(editor.document.getText(), email, "nothing changes before Accept");

    const accepted = (await vscode.commands.executeCommand("composer.review.accept")) as RunOutcome;
    assert.equal(accepted.state, "inserted", JSON.stringify(accepted));
    assert.equal(
        editor.document.getText(),
        `${body}\n\n${reply}\n`,
        "the reply is below the email, the email unchanged",
    );
    assert.equal(diffTabs().length, 0, "the diff is closed");
    await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand("undo");
    assert.equal(editor.document.getText(), email, "one undo removes the reply");
});

test("a reply rejected or cancelled leaves the email exactly as it was", async () => {
    const {editor, email} = await emailSelected();
    const version = editor.document.version;
    const reviewed = (await vscode.commands.executeCommand("composer.suggestReply")) as RunOutcome;
    assert.equal(reviewed.state, "review", JSON.stringify(reviewed));
    assert.equal(((await vscode.commands.executeCommand("composer.review.reject")) as RunOutcome).state, "rejected");

    const cancelled = await api.reviews.run({
        chain: {main: "reply", aux: ["tone:casual"]},
        method: "auto",
        title: "cancelled reply",
        onText: () => void vscode.commands.executeCommand("composer.cancel"),
    });
    assert.equal(cancelled.state, "cancelled", JSON.stringify(cancelled));
    assert.equal(editor.document.getText(), email);
    assert.equal(editor.document.version, version, "not even touched");
    assert.equal(diffTabs().length, 0, "no review is left open");
});

test("an engine crash during a reply leaves the email as it was, and the next request starts a new engine", async () => {
    const {editor, email} = await emailSelected();
    const version = editor.document.version;
    // The engine process dies while the reply streams into the diff.
    const client = await api.engine.ready();
    let killed = false;
    const crashed = await api.reviews.run({
        chain: {main: "reply", aux: []},
        method: "auto",
        title: "crashed reply",
        onText: () => {
            if (!killed) client.kill("SIGKILL");
            killed = true;
        },
    });
    assert.equal(crashed.state, "failed", JSON.stringify(crashed));
    assert.ok(crashed.state === "failed" && /engine process stopped/.test(crashed.message), crashed.message);

    assert.equal(editor.document.getText(), email);
    assert.equal(editor.document.version, version, "not even touched");
    assert.equal(diffTabs().length, 0, "no review is left open");
    assert.equal(api.reviews.active, null);
    // The next request starts a new engine.
    const again = await runChain("reply", "newDocument");
    assert.equal(again.state, "opened", JSON.stringify(again));
});

test("the output mode setting overrides the task's place: review makes a reply replace the selection", async () => {
    const config = vscode.workspace.getConfiguration("composer");
    await config.update("outputMode", "review", vscode.ConfigurationTarget.Workspace);
    try {
        const {email} = await emailSelected();
        const outcome = (await vscode.commands.executeCommand("composer.suggestReply")) as RunOutcome;
        assert.ok(outcome.state === "review" && outcome.placement === "replace", JSON.stringify(outcome));
        // The diff shows the reply alone, in place of the email.
        await proposalDocument(outcome.state === "review" ? outcome.text : "");
        assert.ok(email.length > 0);
        await vscode.commands.executeCommand("composer.review.reject");
    } finally {
        await config.update("outputMode", "auto", vscode.ConfigurationTarget.Workspace);
    }
});

test("a tone rewrite that gives the text back says so and opens no review", async () => {
    // A sign-off is lines that are not sentences, which a tone rewrite keeps as they are
    // (engine/compose/segments.ts): the engine answers with the text itself.
    const signOff = "Best regards,\nSimon";
    const editor = await openSample(`Thanks for the notes.\n\n${signOff}\n`);
    select(editor, signOff);
    const version = editor.document.version;
    const outcome = await runChain("tone:professional");
    assert.ok(outcome.state === "unchanged" && /nothing to change/.test(outcome.message), JSON.stringify(outcome));
    assert.equal(diffTabs().length, 0, "no diff without a difference");
    assert.equal(editor.document.version, version, "not even touched");
    const nothing = (await vscode.commands.executeCommand("composer.review.accept")) as RunOutcome;
    assert.equal(nothing.state, "nothing", "nothing is left to accept");
});

test("a tone rewrite whose every rewrite changed a fact keeps the text and says why", async () => {
    // The bundled professional adapter answers "Good afternoon." with a sentence about "I" and
    // "you" (engine/compose/facts.ts): the engine keeps the greeting as written.
    const editor = await openSample("Good afternoon.\n");
    select(editor, "Good afternoon.");
    const version = editor.document.version;
    const outcome = await runChain("tone:professional");
    assert.ok(
        outcome.state === "unchanged" &&
            /kept the text as you wrote it: its rewrites changed a fact/.test(outcome.message),
        JSON.stringify(outcome),
    );
    assert.equal(diffTabs().length, 0, "no diff without a difference");
    assert.equal(editor.document.version, version, "not even touched");
});

test("an empty or whitespace-only selection is refused with a clear message before any engine request", async () => {
    const compose = api.engine.compose;
    let requests = 0;
    api.engine.compose = (call) => {
        requests++;
        return compose.call(api.engine, call);
    };
    try {
        const editor = await openSample("Title\n\n   \n\t\nEnd\n");
        editor.selection = new vscode.Selection(new vscode.Position(1, 0), new vscode.Position(4, 0));
        const outcome = (await vscode.commands.executeCommand("composer.suggestReply")) as RunOutcome;
        assert.equal(outcome.state, "empty", JSON.stringify(outcome));
        assert.ok(outcome.state === "empty" && /only whitespace/.test(outcome.message), outcome.message);
        // Nothing selected means the whole document; an empty one is refused too.
        await openSample("\n\n");
        const blank = (await vscode.commands.executeCommand("composer.summarize")) as RunOutcome;
        assert.ok(blank.state === "empty" && /document is empty/.test(blank.message), JSON.stringify(blank));
        assert.equal(requests, 0, "the engine was never asked");
        assert.equal(diffTabs().length, 0);
        assert.equal(editor.document.getText(), "Title\n\n   \n\t\nEnd\n");
    } finally {
        api.engine.compose = compose;
    }
});

test("retry generates again in the same review; closing the diff rejects it", async () => {
    const editor = await paragraphSelected();
    const version = editor.document.version;
    const first = await runChain("summarize+translate:fr");
    assert.equal(first.state, "review");
    const again = (await vscode.commands.executeCommand("composer.review.retry")) as RunOutcome;
    assert.equal(again.state, "review", JSON.stringify(again));
    assert.equal(diffTabs().length, 1, "still one review");
    await vscode.window.tabGroups.close(diffTabs());
    for (let i = 0; i < 50 && api.reviews.active !== null; i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(api.reviews.active, null, "the review ended");
    assert.equal(editor.document.version, version, "the document was not touched");
});

test("a corrupt adapter is refused with the engine's specific reason and nothing is installed", async () => {
    const before = await api.listAdapters();
    const outcome = (await vscode.commands.executeCommand(
        "composer.installAdapterFromFile",
        join(work, "pack", "test.corrupt"),
    )) as {ok: boolean; code?: string; message?: string};
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, "sha256-mismatch", JSON.stringify(outcome));
    assert.match(outcome.message ?? "", /sha256/);
    assert.deepEqual(
        (await api.listAdapters()).map((a) => a.id),
        before.map((a) => a.id),
    );
});

test("installing the paraphrase and Spanish adapters adds the one-pass Paraphrase in Spanish", async () => {
    for (const id of ["test.tone-paraphrase", "test.translate-es"]) {
        const outcome = (await vscode.commands.executeCommand(
            "composer.installAdapterFromFile",
            join(work, "pack", id),
        )) as {ok: boolean; message?: string};
        assert.equal(outcome.ok, true, JSON.stringify(outcome));
    }
    const capability = api.engine.capabilities.find((c) => c.chain === "tone:paraphrase+translate:es");
    assert.equal(capability?.onePass, true);
    assert.equal(capability?.method, "lc++");
    // The test adapters sit next to whatever the bundled pack holds.
    const rows = (await api.listAdapters()).filter((row) => row.id.startsWith("test."));
    assert.ok(rows.every((row) => row.valid && !row.bundled));
    assert.deepEqual(
        rows.map((row) => row.id),
        ["test.summarize", "test.tone-paraphrase", "test.translate-es", "test.translate-fr"],
    );
});

test("Install Adapter from URL needs https and the manifest's sha256, and then installs", async () => {
    const base = process.env.COMPOSER_E2E_HTTPS ?? "";
    console.log(`NODE_EXTRA_CA_CERTS in the extension host: ${process.env.NODE_EXTRA_CA_CERTS ?? "(unset)"}`);
    const url = `${base}/test.tone-witty/manifest.json`;
    const sha256 = createHash("sha256")
        .update(await readFile(join(work, "pack", "test.tone-witty", "manifest.json")))
        .digest("hex");
    type Outcome = {ok: boolean; code?: string; message?: string};
    const install = (args: object) =>
        vscode.commands.executeCommand("composer.installAdapterFromUrl", args) as Thenable<Outcome>;

    const plain = await install({url: url.replace("https:", "http:"), sha256});
    assert.equal(plain.ok, false);
    assert.match(plain.message ?? "", /only https/);
    const wrong = await install({url, sha256: "0".repeat(64)});
    assert.equal(wrong.ok, false);
    assert.match(wrong.message ?? "", /sha256 is [0-9a-f]{64}, expected 0{64}/);
    assert.ok(!(await api.listAdapters()).some((a) => a.id === "test.tone-witty"), "nothing was installed");

    const good = await install({url, sha256});
    assert.equal(good.ok, true, JSON.stringify(good));
    const row = (await api.listAdapters()).find((a) => a.id === "test.tone-witty");
    assert.equal(row?.valid, true);
    assert.equal(row?.task, "tone:witty");
});

test("the task chain builder opens as a webview", async () => {
    await vscode.commands.executeCommand("composer.openBuilder");
    const find = () =>
        vscode.window.tabGroups.all
            .flatMap((group) => group.tabs)
            .find((t) => t.input instanceof vscode.TabInputWebview && t.label.includes("Task Chain Builder"));
    for (let i = 0; i < 50 && find() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const tab = find();
    assert.ok(tab, "the builder tab is open");
    await vscode.window.tabGroups.close(tab);
});

test("Download Model fetches (here: verifies) the default model through the engine process and restarts the engine", async () => {
    // Last: it switches the engine to the "default" setting. The default model is already in
    // the composer home, so the engine process only checks its sha256.
    const config = vscode.workspace.getConfiguration("composer");
    await config.update("baseModel", "default", vscode.ConfigurationTarget.Global);
    const outcome = await vscode.commands.executeCommand("composer.downloadModel", {confirm: false});
    assert.equal(outcome, "done");
    await api.engine.ready();
    assert.equal(api.engine.state.kind, "ready");
});

/** Called by VS Code's test runner in the extension host; a throw fails the run. */
export async function run(): Promise<void> {
    const failures: string[] = [];
    for (const {name, fn} of tests) {
        const started = Date.now();
        try {
            await Promise.race([
                fn(),
                new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after 120 s")), 120_000)),
            ]);
            console.log(`ok - ${name} (${Date.now() - started} ms)`);
        } catch (error) {
            failures.push(name);
            console.log(`not ok - ${name}\n  ${(error as Error).stack ?? error}`);
        }
    }
    console.log(`# ${tests.length - failures.length} passed, ${failures.length} failed`);
    if (failures.length > 0) throw new Error(`${failures.length} e2e test(s) failed: ${failures.join("; ")}`);
}
