// Runs a chain on the selection and hands the result to the user where outputPlan.ts says: a
// reply below the text it answers, anything else in place of the selection, each streamed into a
// diff of the text as it is against the text as it will read (review), or straight into the
// document, or a new document. Accept makes exactly that edit in one undo step, and only if the
// selected text is still there; cancel, a failure or an engine crash stops and touches nothing.

import * as vscode from "vscode";
import type {ComposeResult} from "../../engine/compose/composer";
import type {MethodChoice} from "../../engine/compose/methods";
import {describeChain, type TaskChain} from "../../engine/compose/taskChain";
import type {EngineService} from "../engineService";
import {type EndOfLine, emptyInput, insertionBelow, type OutputMode, type OutputPlan, planOutput} from "./outputPlan";
import {RangeTracker} from "./rangeTracker";

export const REVIEW_SCHEME = "composer-review";
/**
 * The review documents' language (package.json `languages`): its configuration default turns word
 * wrap on, so a one-line proposal next to a paragraph reads without scrolling sideways.
 */
export const REVIEW_LANGUAGE = "composer-review";

export type RunOutcome =
    | {
          readonly state: "review";
          readonly text: string;
          readonly method: string;
          /** What Accept will do. */
          readonly placement: "replace" | "insertBelow";
      }
    | {readonly state: "applied" | "inserted" | "opened"; readonly text: string; readonly method: string}
    | {
          readonly state: "cancelled" | "rejected" | "refused" | "failed" | "nothing" | "empty" | "unchanged";
          readonly message: string;
      };

export interface RunRequest {
    readonly chain: TaskChain;
    readonly method: MethodChoice;
    readonly title: string;
    /** Overrides the `composer.outputMode` setting. */
    readonly mode?: OutputMode;
    /** Always show a diff first (the builder panel), whatever the mode says. */
    readonly alwaysReview?: boolean;
    /** Live output for the builder view. */
    readonly onText?: (text: string) => void;
    /** Keep the focus where it is (the builder) when the diff opens. */
    readonly preserveFocus?: boolean;
}

/** Serves the original and proposal texts of reviews as read-only virtual documents. */
class ReviewDocuments implements vscode.TextDocumentContentProvider {
    private readonly contents = new Map<string, string>();
    private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
    readonly onDidChange = this.emitter.event;

    set(uri: vscode.Uri, text: string): void {
        this.contents.set(uri.toString(), text);
        this.emitter.fire(uri);
    }

    delete(uri: vscode.Uri): void {
        this.contents.delete(uri.toString());
    }

    provideTextDocumentContent(uri: vscode.Uri): string {
        return this.contents.get(uri.toString()) ?? "";
    }

    dispose(): void {
        this.emitter.dispose();
    }
}

interface Session {
    readonly id: number;
    readonly viewColumn: vscode.ViewColumn | undefined;
    readonly request: RunRequest;
    readonly document: vscode.TextDocument;
    readonly original: string;
    readonly plan: OutputPlan;
    /**
     * The left side of an insertion's diff: the selection up to the end of its last line, where
     * the reply goes (for a replacement, the selection itself).
     */
    readonly base: string;
    readonly eol: EndOfLine;
    readonly tracker: RangeTracker;
    readonly listener: vscode.Disposable;
    readonly originalUri: vscode.Uri;
    readonly proposalUri: vscode.Uri;
    state: "generating" | "ready" | "closed";
    proposal: string;
    method: string;
    abort: AbortController;
}

export class ReviewController implements vscode.Disposable {
    private readonly documents = new ReviewDocuments();
    private readonly registration: vscode.Disposable;
    private session: Session | null = null;
    private nextId = 1;
    private readonly finishedEmitter = new vscode.EventEmitter<RunOutcome>();
    /** Fires when a review ends (accepted, rejected, cancelled...); the builder view listens. */
    readonly onDidFinish = this.finishedEmitter.event;

    constructor(
        private readonly engine: EngineService,
        private readonly log: vscode.LogOutputChannel,
    ) {
        this.registration = vscode.Disposable.from(
            vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, this.documents),
            // Closing the review's diff by hand is a Reject: the review must not linger unseen.
            vscode.window.tabGroups.onDidChangeTabs((event) => {
                const session = this.session;
                if (session === null || session.state !== "ready") return;
                const closed = event.closed.some(
                    (tab) =>
                        tab.input instanceof vscode.TabInputTextDiff &&
                        tab.input.modified.toString() === session.proposalUri.toString(),
                );
                if (closed) void this.reject();
            }),
        );
    }

    get active(): {readonly state: string; readonly proposal: string; readonly plan: OutputPlan} | null {
        const session = this.session;
        return session === null ? null : {state: session.state, proposal: session.proposal, plan: session.plan};
    }

    /** Runs a chain on the active editor's selection (the whole document if nothing is selected). */
    async run(request: RunRequest, editor = vscode.window.activeTextEditor): Promise<RunOutcome> {
        if (editor === undefined || editor.document.uri.scheme === REVIEW_SCHEME) {
            const message = vscode.l10n.t("Open a document and select the text to work on first.");
            void vscode.window.showInformationMessage(message);
            return {state: "nothing", message};
        }
        const document = editor.document;
        const wholeDocument = editor.selection.isEmpty;
        const selection = wholeDocument
            ? new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length))
            : new vscode.Range(editor.selection.start, editor.selection.end);
        const original = document.getText(selection);
        // Refused before the engine sees it (and before a review in progress is closed): a model
        // given nothing invents text.
        const empty = emptyInput(original, wholeDocument);
        if (empty !== null) {
            const message =
                empty === "empty-document"
                    ? vscode.l10n.t("The document is empty: write or paste the text to work on, then select it.")
                    : vscode.l10n.t("The selection holds only whitespace: select the text to work on.");
            void vscode.window.showWarningMessage(message);
            return {state: "empty", message};
        }
        await this.close("rejected");
        const range = {start: document.offsetAt(selection.start), end: document.offsetAt(selection.end)};
        const tracker = new RangeTracker(range);
        const plan = planOutput(request.mode ?? this.engine.settings().outputMode, request.chain, {
            editable: vscode.workspace.fs.isWritableFileSystem(document.uri.scheme) !== false,
            alwaysReview: request.alwaysReview ?? false,
        });
        const eol: EndOfLine = document.eol === vscode.EndOfLine.CRLF ? "\r\n" : "\n";
        const text = document.getText();
        const base =
            plan.placement === "insertBelow"
                ? text.slice(range.start, insertionBelow(text, range, "", eol).offset)
                : original;
        const id = this.nextId++;
        const session: Session = {
            id,
            viewColumn: editor.viewColumn,
            request,
            document,
            original,
            plan,
            base,
            eol,
            tracker,
            listener: vscode.workspace.onDidChangeTextDocument((event) => {
                if (event.document === document) tracker.apply(event.contentChanges);
            }),
            originalUri: vscode.Uri.from({scheme: REVIEW_SCHEME, path: `/${id}/original.${REVIEW_LANGUAGE}`}),
            proposalUri: vscode.Uri.from({scheme: REVIEW_SCHEME, path: `/${id}/proposal.${REVIEW_LANGUAGE}`}),
            state: "generating",
            proposal: "",
            method: "",
            abort: new AbortController(),
        };
        this.session = session;
        return this.generate(session);
    }

    /** The right side of the diff: the text as it will read after Accept. */
    private preview(session: Session): string {
        return session.plan.placement === "insertBelow"
            ? `${session.base}${session.eol}${session.eol}${session.proposal}`
            : session.proposal;
    }

    /** Generates (again, for Retry) and hands the result over as the plan says. */
    private async generate(session: Session): Promise<RunOutcome> {
        session.state = "generating";
        session.proposal = "";
        session.abort = new AbortController();
        const {signal} = session.abort;
        if (session.plan.review) await this.openDiff(session);
        let result: ComposeResult;
        try {
            result = await this.composeWithProgress(session, signal);
        } catch (error) {
            return this.failed(session, error, signal);
        }
        if (this.session !== session) return {state: "cancelled", message: "superseded"};
        for (const note of result.notes ?? []) this.log.info(note);
        this.log.info(
            `${describeChain(session.request.chain)}: ${result.method}, ${result.passes.length} pass(es), ${result.text.length} characters.`,
        );
        if (result.text.trim() === "") {
            // Accepting nothing would delete the selection: an empty result is a failure, never a proposal.
            const message = vscode.l10n.t(
                "Composer could not finish: the model wrote nothing for {0}. The document was not changed.",
                session.request.title,
            );
            this.log.error(message);
            void vscode.window.showErrorMessage(message);
            await this.end(session, "failed");
            return {state: "failed", message};
        }
        if (session.request.chain.main === null && result.text.trim() === session.original.trim()) {
            // A rewrite (tone, translation) that gave the text back: a tone adapter that found
            // nothing to change, lines kept as they were. A diff without a difference would ask to
            // accept nothing. (A summary or reply that is the text itself stays a proposal to reject.)
            // Where the adapter did rewrite but each rewrite changed a fact, "nothing to change" would mislead.
            const message =
                result.keptAsWritten > 0
                    ? vscode.l10n.t(
                          "{0} kept the text as you wrote it: its rewrites changed a fact (a number, a name, a negation, a condition, a hedge, a question, a quotation or who it is about). The document was not changed.",
                          session.request.title,
                      )
                    : vscode.l10n.t(
                          "{0} found nothing to change: the text came back as it was. The document was not changed.",
                          session.request.title,
                      );
            this.log.info(message);
            void vscode.window.showInformationMessage(message);
            await this.end(session, "unchanged");
            return {state: "unchanged", message};
        }
        session.proposal = result.text;
        session.method = result.method;
        return this.deliver(session);
    }

    /** Opens the diff the proposal streams into, next to the text it is about. */
    private async openDiff(session: Session): Promise<void> {
        this.documents.set(session.originalUri, session.base);
        this.documents.set(session.proposalUri, this.preview(session));
        await vscode.commands.executeCommand(
            "vscode.diff",
            session.originalUri,
            session.proposalUri,
            session.plan.placement === "insertBelow"
                ? vscode.l10n.t("{0}: the selection ↔ with the result below it", session.request.title)
                : vscode.l10n.t("{0}: original ↔ proposal", session.request.title),
            // Next to the text it is about, not over the builder panel.
            {preview: true, viewColumn: session.viewColumn, preserveFocus: session.request.preserveFocus ?? false},
        );
    }

    /**
     * Runs the request under a cancellable progress notification that says what the engine is
     * doing (reading a long text, parts done, generating) while the text streams into the diff.
     */
    private composeWithProgress(session: Session, signal: AbortSignal): Thenable<ComposeResult> {
        const {request} = session;
        return vscode.window.withProgress(
            {
                location: vscode.ProgressLocation.Notification,
                title: vscode.l10n.t("Composer: {0}", request.title),
                cancellable: true,
            },
            async (progress, token) => {
                token.onCancellationRequested(() => session.abort.abort());
                const generating = vscode.l10n.t("generating ({0})…", describeChain(request.chain));
                progress.report({message: generating});
                // A long selection takes a while to read before the first word: say how far it is.
                let reading = false;
                // Redrawing the diff on every token is wasteful; ten times a second is live enough.
                const redraw = throttled(100, () => {
                    if (session.plan.review && this.session === session)
                        this.documents.set(session.proposalUri, this.preview(session));
                });
                try {
                    return await this.engine.compose({
                        chain: request.chain,
                        method: request.method,
                        input: session.original,
                        signal,
                        onPrompt: (evaluated, total) => {
                            reading = true;
                            const percent = Math.round((100 * evaluated) / total);
                            progress.report({message: vscode.l10n.t("reading the text ({0}%)…", percent)});
                        },
                        // A rewrite goes sentence by sentence, a long summary part by part.
                        onStep: (done, total) => {
                            if (done < total)
                                progress.report({message: vscode.l10n.t("{0} of {1} parts done…", done, total)});
                        },
                        onText: (text) => {
                            if (reading) {
                                reading = false;
                                progress.report({message: generating});
                            }
                            session.proposal += text;
                            request.onText?.(text);
                            redraw.request();
                        },
                    });
                } finally {
                    redraw.cancel();
                }
            },
        );
    }

    /** A cancel (by the user, or the engine's own) is quiet; anything else is an error the user sees. */
    private async failed(session: Session, error: unknown, signal: AbortSignal): Promise<RunOutcome> {
        const cancelled = signal.aborted || (error as Error).name === "ComposeCancelledError";
        const message = cancelled
            ? vscode.l10n.t("Cancelled; the document was not changed.")
            : vscode.l10n.t("Composer could not finish: {0}", (error as Error).message);
        if (cancelled) vscode.window.setStatusBarMessage(`$(circle-slash) ${message}`, 8_000);
        else {
            this.log.error(message);
            void vscode.window.showErrorMessage(message);
        }
        await this.end(session, cancelled ? "cancelled" : "failed");
        return {state: cancelled ? "cancelled" : "failed", message};
    }

    /** Hands the finished proposal over as the plan says: a review, an edit, or a new document. */
    private async deliver(session: Session): Promise<RunOutcome> {
        const {plan} = session;
        if (plan.review && plan.placement !== "newDocument") {
            this.documents.set(session.proposalUri, this.preview(session));
            session.state = "ready";
            await vscode.commands.executeCommand("setContext", "composer.reviewPlacement", plan.placement);
            await vscode.commands.executeCommand("setContext", "composer.reviewActive", true);
            void this.offerReviewActions(session);
            return {state: "review", text: session.proposal, method: session.method, placement: plan.placement};
        }
        switch (plan.placement) {
            case "replace":
                session.state = "ready";
                return this.accept();
            case "insertBelow":
                session.state = "ready";
                return this.insertBelow();
            case "newDocument": {
                const opened = await vscode.workspace.openTextDocument({
                    content: session.proposal,
                    language: session.document.languageId,
                });
                await vscode.window.showTextDocument(opened, {preview: false});
                await this.end(session, "opened");
                return {state: "opened", text: session.proposal, method: session.method};
            }
        }
    }

    private async offerReviewActions(session: Session): Promise<void> {
        const accept = vscode.l10n.t("Accept");
        const reject = vscode.l10n.t("Reject");
        const retry = vscode.l10n.t("Retry");
        const below = vscode.l10n.t("Insert Below");
        const inserting = session.plan.placement === "insertBelow";
        const choice = await vscode.window.showInformationMessage(
            inserting
                ? vscode.l10n.t(
                      "{0} is ready ({1}). Insert it below the selection?",
                      session.request.title,
                      session.method,
                  )
                : vscode.l10n.t(
                      "{0} is ready ({1}). Replace the selection with it?",
                      session.request.title,
                      session.method,
                  ),
            accept,
            reject,
            retry,
            ...(inserting ? [] : [below]),
        );
        if (this.session !== session || session.state !== "ready" || choice === undefined) return;
        if (choice === accept) await this.accept();
        else if (choice === reject) await this.reject();
        else if (choice === retry) await this.retry();
        else if (choice === below) await this.insertBelow();
    }

    /** The current range of the original selection, or why it can no longer be replaced. */
    private currentRange(session: Session): vscode.Range | string {
        if (session.document.isClosed) return vscode.l10n.t("the document was closed");
        const tracked = session.tracker.value;
        if (tracked.state === "changed") return tracked.reason;
        const range = new vscode.Range(
            session.document.positionAt(tracked.range.start),
            session.document.positionAt(tracked.range.end),
        );
        // Belt and braces: the tracker follows edits, this checks the text itself.
        if (session.document.getText(range) !== session.original) return vscode.l10n.t("the selected text changed");
        return range;
    }

    /** Applies the proposal where the plan says: in place of the selection, or below it. */
    async accept(): Promise<RunOutcome> {
        const session = this.session;
        if (session === null || session.state !== "ready") return this.nothingToDo();
        if (session.plan.placement === "insertBelow") return this.insertBelow();
        const range = this.currentRange(session);
        if (typeof range === "string") return this.refuse(session, range);
        const edit = new vscode.WorkspaceEdit();
        edit.replace(session.document.uri, range, session.proposal);
        if (!(await vscode.workspace.applyEdit(edit)))
            return this.refuse(session, vscode.l10n.t("the edit was refused"));
        const text = session.proposal;
        await this.end(session, "applied");
        await this.reveal(session.document, range.start, text);
        return {state: "applied", text, method: session.method};
    }

    async insertBelow(): Promise<RunOutcome> {
        const session = this.session;
        if (session === null || session.state !== "ready") return this.nothingToDo();
        const range = this.currentRange(session);
        if (typeof range === "string") return this.refuse(session, range);
        const {document} = session;
        const insertion = insertionBelow(
            document.getText(),
            {start: document.offsetAt(range.start), end: document.offsetAt(range.end)},
            session.proposal,
            session.eol,
        );
        const edit = new vscode.WorkspaceEdit();
        edit.insert(document.uri, document.positionAt(insertion.offset), insertion.text);
        if (!(await vscode.workspace.applyEdit(edit)))
            return this.refuse(session, vscode.l10n.t("the edit was refused"));
        const text = session.proposal;
        await this.end(session, "inserted");
        const start = document.positionAt(insertion.offset + insertion.text.length - text.length);
        await this.reveal(document, start, text);
        return {state: "inserted", text, method: session.method};
    }

    async reject(): Promise<RunOutcome> {
        const session = this.session;
        if (session === null) return this.nothingToDo();
        await this.end(session, "rejected");
        return {state: "rejected", message: vscode.l10n.t("Rejected; the document was not changed.")};
    }

    async retry(): Promise<RunOutcome> {
        const session = this.session;
        if (session === null || session.state !== "ready") return this.nothingToDo();
        return this.generate(session);
    }

    /** Stops a generation in progress (the progress notification's Cancel does the same). */
    cancel(): void {
        this.session?.abort.abort();
    }

    private async refuse(session: Session, reason: string): Promise<RunOutcome> {
        const message = vscode.l10n.t("Not applied: {0}. Your document was left as it is.", reason);
        const copy = vscode.l10n.t("Copy Proposal");
        const open = vscode.l10n.t("Open as New Document");
        void vscode.window.showWarningMessage(message, copy, open).then(async (choice) => {
            if (choice === copy) await vscode.env.clipboard.writeText(session.proposal);
            else if (choice === open)
                await vscode.window.showTextDocument(
                    await vscode.workspace.openTextDocument({content: session.proposal}),
                );
        });
        return {state: "refused", message};
    }

    private nothingToDo(): RunOutcome {
        const message = vscode.l10n.t("There is no proposal to review.");
        void vscode.window.showInformationMessage(message);
        return {state: "nothing", message};
    }

    private async reveal(document: vscode.TextDocument, start: vscode.Position, text: string): Promise<void> {
        const end = document.positionAt(document.offsetAt(start) + text.length);
        await vscode.window.showTextDocument(document, {selection: new vscode.Range(start, end), preview: false});
    }

    private async close(outcome: string): Promise<void> {
        if (this.session !== null) await this.end(this.session, outcome);
    }

    private async end(session: Session, outcome: string): Promise<void> {
        if (session.state === "closed") return;
        session.state = "closed";
        session.abort.abort();
        session.listener.dispose();
        if (this.session === session) this.session = null;
        await vscode.commands.executeCommand("setContext", "composer.reviewActive", false);
        await vscode.commands.executeCommand("setContext", "composer.reviewPlacement", undefined);
        const tabs = vscode.window.tabGroups.all
            .flatMap((group) => group.tabs)
            .filter(
                (tab) =>
                    tab.input instanceof vscode.TabInputTextDiff &&
                    tab.input.modified.toString() === session.proposalUri.toString(),
            );
        if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
        this.documents.delete(session.originalUri);
        this.documents.delete(session.proposalUri);
        this.finishedEmitter.fire(
            outcome === "applied" || outcome === "inserted" || outcome === "opened"
                ? {state: outcome, text: session.proposal, method: session.method}
                : {state: outcome as "rejected", message: outcome},
        );
    }

    dispose(): void {
        this.session?.abort.abort();
        this.registration.dispose();
        this.documents.dispose();
        this.finishedEmitter.dispose();
    }
}

/** Runs `action` at most once per `ms` however often it is requested; cancel drops a pending run. */
function throttled(ms: number, action: () => void): {request(): void; cancel(): void} {
    let pending: ReturnType<typeof setTimeout> | undefined;
    return {
        request() {
            pending ??= setTimeout(() => {
                pending = undefined;
                action();
            }, ms);
        },
        cancel() {
            if (pending !== undefined) clearTimeout(pending);
            pending = undefined;
        },
    };
}
