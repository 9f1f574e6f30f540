// Every DOM detail of the VS Code workbench the UI tests rely on, in one place (selectors change
// between VS Code versions; this is the only file to update when they do).

import {chromium} from "playwright-core";
import {chromiumPath} from "./setup.mjs";

export async function launchBrowser() {
    return chromium.launch({
        executablePath: chromiumPath,
        headless: true,
        timeout: 60_000,
        args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
        ],
    });
}

/** Resolves when the workbench has restored (the smoke-test driver is enabled on the server). */
export async function whenRestored(page) {
    await page.waitForFunction(() => window.driver !== undefined, null, {timeout: 60_000});
    await page.evaluate(() => window.driver.whenWorkbenchRestored());
    await page.locator(".monaco-workbench").waitFor({timeout: 30_000});
}

/**
 * Runs a command from the palette by (part of) its title; waits for the row so none is skipped.
 * Retries until `timeout`: contributed commands appear once their context key is set (the engine
 * is ready), and while another quick input or an editor is still closing, the palette's input can
 * be inert for a moment.
 */
export async function runFromPalette(page, title, {timeout = 30_000} = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
        await page.keyboard.press("F1");
        const input = page.locator(".quick-input-widget input");
        const row = page.locator(".quick-input-list .monaco-list-row", {hasText: title}).first();
        try {
            await input.waitFor({timeout: 10_000});
            await input.fill(`>${title}`, {timeout: 5_000});
            await row.waitFor({timeout: 3_000});
            await row.click();
            return;
        } catch (error) {
            await page.keyboard.press("Escape");
            if (Date.now() > deadline) throw new Error(`"${title}" never appeared in the command palette: ${error}`);
            await page.waitForTimeout(1_000);
        }
    }
}

/** Opens a workspace file with Quick Open. */
export async function openFile(page, name) {
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({timeout: 10_000});
    await input.fill(name);
    await page.locator(".quick-input-list .monaco-list-row", {hasText: name}).first().waitFor({timeout: 10_000});
    await page.keyboard.press("Enter");
    await page.locator(`.tab[aria-label*="${name}"]`).first().waitFor({timeout: 10_000});
    await activeEditorLines(page).first().waitFor({timeout: 10_000});
}

export function activeEditorLines(page) {
    return page.locator(".editor-group-container.active .monaco-editor .view-lines");
}

/** The text of the Monaco view lines under `selector`, top to bottom (Monaco renders spaces as U+00A0). */
async function viewLinesText(page, selector) {
    const lines = await page.locator(selector).evaluateAll((nodes) =>
        nodes
            .map((node) => ({top: Number.parseFloat(node.style.top), text: node.textContent ?? ""}))
            .sort((a, b) => a.top - b.top)
            .map((line) => line.text),
    );
    return lines.join("\n").replaceAll("\u00a0", " ");
}

/** The active editor's visible text. */
export function activeEditorText(page) {
    return viewLinesText(page, ".editor-group-container.active .monaco-editor .view-lines .view-line");
}

/** The text of the diff editor's right-hand (proposal) side. */
export function diffModifiedText(page) {
    return viewLinesText(page, ".monaco-diff-editor .editor.modified .lines-content > .view-lines > .view-line");
}

/** Rows the diff editor renders on one side ("original" or "modified"): more than lines when wrapped. */
export function diffRowCount(page, side) {
    return page.locator(`.monaco-diff-editor .editor.${side} .lines-content > .view-lines > .view-line`).count();
}

/** Selects the whole text of the active editor. */
export async function selectAll(page) {
    await activeEditorLines(page).first().click();
    await page.keyboard.press("Control+A");
}

/** Selects whole line `line` (1-based) in the active editor with Go to Line and the keyboard. */
export async function selectLine(page, line) {
    await activeEditorLines(page).first().click();
    await page.keyboard.press("Control+G");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({timeout: 10_000});
    await input.fill(`:${line}`);
    await page.keyboard.press("Enter");
    await page.keyboard.press("Home");
    await page.keyboard.press("Shift+End");
}

export function diffEditor(page) {
    return page.locator(".monaco-diff-editor").first();
}

/** A status bar entry by its visible text. */
export function statusBarItem(page, text) {
    return page.locator(".statusbar-item", {hasText: text}).first();
}

/** The review's "Accept Proposal" action in the diff editor's title bar. */
export function acceptButton(page) {
    return page.locator('.editor-actions a.action-label[aria-label^="Accept Proposal"]').first();
}

// With the smoke-test driver on (whenRestored needs it), VS Code shows no notification toasts:
// notifications, progress included, are only in the notification center.

/**
 * Opens the notification center with the status bar's bell, as a user would (closing it first if it
 * is open, which refreshes it). The palette is no good here: while an editor opens, its input can
 * be inert.
 */
export async function showNotifications(page) {
    const bell = page.locator('.statusbar-item[id="status.notifications"]');
    const center = page.locator(".notifications-center.visible");
    if (await center.isVisible()) {
        await bell.click();
        await center.waitFor({state: "hidden", timeout: 10_000});
    }
    await bell.click();
    // A click can be lost while the palette closes (a fresh-clone run on 2026-12-06 waited 10 s for
    // the center after "Summarize to French"): one more, only if the center is still not open.
    const opened = await center
        .waitFor({timeout: 5_000})
        .then(() => true)
        .catch(() => false);
    if (opened) return;
    if (!(await center.isVisible())) await bell.click();
    await center.waitFor({timeout: 10_000});
}

/** The texts of every notification in the center (for a failure's message). */
export async function notificationTexts(page) {
    return page.locator(".notifications-center .notification-list-item").allInnerTexts();
}

/** A notification in the center by its text. */
export function notification(page, text) {
    return page.locator(".notifications-center .notification-list-item", {hasText: text}).first();
}

/** The Cancel button of the progress notification whose title contains `title`. */
export function progressCancelButton(page, title) {
    return notification(page, title).locator(".monaco-button", {hasText: "Cancel"}).first();
}

/** The builder's webview frame: a nested cross-origin iframe holding `#main-task`. */
export async function builderFrame(page, {timeout = 30_000} = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
        for (const frame of page.frames()) {
            try {
                if ((await frame.locator("#main-task").count()) > 0) return frame;
            } catch {
                // a frame that went away meanwhile
            }
        }
        if (Date.now() > deadline) throw new Error("the Task Chain Builder webview did not appear");
        await page.waitForTimeout(500);
    }
}

/**
 * In VS Code's own file dialog (the web workbench has no native one): type a path, accept, and wait
 * until the dialog has closed. The dialog resolves a typed path asynchronously and ignores an Enter
 * that comes before; on a loaded machine that is seconds, and the next keystroke (F1) would cancel it.
 */
export async function pickPathInDialog(page, path, {attempts = 10} = {}) {
    const widget = page.locator(".quick-input-widget");
    const input = widget.locator("input");
    await input.waitFor({timeout: 10_000});
    for (let attempt = 1; ; attempt++) {
        if ((await input.inputValue()) !== path) await input.fill(path);
        await page.waitForTimeout(500 * attempt);
        await page.keyboard.press("Enter");
        const closed = await widget.waitFor({state: "hidden", timeout: 3_000}).then(
            () => true,
            () => false,
        );
        // The dialog can hide for a moment while it resolves the path and then show again: only a
        // dialog that stays closed has handed the path over.
        if (closed) {
            await page.waitForTimeout(1_000);
            if (!(await widget.isVisible())) return;
        }
        if (attempt >= attempts) throw new Error(`the file dialog did not accept ${path}`);
    }
}
