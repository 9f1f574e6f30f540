// The UI speaks German, French and Spanish: package.nls.<lang>.json translates every key of
// package.nls.json (command titles, settings, walkthrough), and l10n/bundle.l10n.<lang>.json every
// message the extension passes to vscode.l10n.t (found by reading extension/**). A new or changed
// message without its translations fails here, and so does a translation nobody uses any more.

import assert from "node:assert/strict";
import {readdirSync, readFileSync, statSync} from "node:fs";
import {join, relative} from "node:path";
import {test} from "node:test";
import {repoRoot} from "../support/realModel";

const LANGUAGES = ["de", "fr", "es"] as const;
const root = repoRoot();
const readJson = (path: string): Record<string, string> => JSON.parse(readFileSync(join(root, path), "utf8"));

function sourceFiles(dir: string): string[] {
    const found: string[] = [];
    for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
        else if (path.endsWith(".ts")) found.push(path);
    }
    return found;
}

interface Message {
    readonly text: string;
    readonly where: string;
}

const CALL = /\bl10n\.t\(\s*/g;
/** In a file that names it `t` (builderPanel.ts: the webview's strings), a bare `t(` is the same call. */
const ALIAS = /\bconst t = vscode\.l10n\.t;/;
const ALIASED_CALL = /(?:\bl10n\.t|(?<![\w.$])t)\(\s*/g;
// A plain string literal: "..." or '...' on one line, or `...` without ${} substitutions.
const LITERAL = /^(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\$]|\\.)*)`)/;

/** Every vscode.l10n.t message in the extension's sources; a call whose message is not a literal is an error. */
function l10nMessages(): Message[] {
    const messages: Message[] = [];
    for (const file of sourceFiles(join(root, "extension"))) {
        const source = readFileSync(file, "utf8");
        for (const call of source.matchAll(ALIAS.test(source) ? ALIASED_CALL : CALL)) {
            const start = (call.index ?? 0) + call[0].length;
            const line = source.slice(0, start).split("\n").length;
            const where = `${relative(root, file)}:${line}`;
            const literal = LITERAL.exec(source.slice(start));
            assert.ok(literal, `${where}: vscode.l10n.t needs a string literal message, so it can be translated`);
            const [, double, single, backtick] = literal;
            const text =
                double !== undefined
                    ? (JSON.parse(`"${double}"`) as string)
                    : single !== undefined
                      ? (JSON.parse(`"${single.replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string)
                      : (backtick ?? "");
            messages.push({text, where});
        }
    }
    return messages;
}

/** `{0}`, `{1}`, ... and named ones such as `{chain: string}`, sorted. */
const placeholders = (text: string): string[] => [...text.matchAll(/\{[^{}]+\}/g)].map((m) => m[0]).sort();
/** Command links and `code` spans, which must survive translation unchanged. */
const fixedParts = (text: string): string[] => [...text.matchAll(/\(command:[^)]+\)|`[^`]+`/g)].map((m) => m[0]).sort();

test("the extension's messages are found, multi-line calls included", () => {
    const texts = new Set(l10nMessages().map((m) => m.text));
    assert.ok(texts.size > 50, `only ${texts.size} messages found`);
    // A call whose message is on the line after "vscode.l10n.t(" (modelCommands.ts).
    assert.ok(texts.has("Download {0} ({1}) to {2}? Free disk space there: {3}."));
    assert.ok(texts.has('Saved "{0}": run it with "Composer: Run Saved Action...".'));
    // The builder's strings, through its `t` alias.
    assert.ok(texts.has("Rejected; the document is unchanged."));
});

test("package.json points VS Code at the l10n bundles", () => {
    const manifest = readJson("package.json") as unknown as {l10n?: string};
    assert.equal(manifest.l10n, "./l10n");
});

for (const language of LANGUAGES) {
    test(`package.nls.${language}.json translates every key of package.nls.json`, () => {
        const english = readJson("package.nls.json");
        const translated = readJson(`package.nls.${language}.json`);
        assert.deepEqual(Object.keys(translated).sort(), Object.keys(english).sort());
        for (const [key, text] of Object.entries(english)) {
            const translation = translated[key] ?? "";
            assert.ok(translation.trim().length > 0, `${language}: ${key} is empty`);
            assert.deepEqual(fixedParts(translation), fixedParts(text), `${language}: ${key} keeps links and code`);
        }
    });

    test(`l10n/bundle.l10n.${language}.json translates every vscode.l10n.t message and nothing else`, () => {
        const bundle = readJson(`l10n/bundle.l10n.${language}.json`);
        const messages = l10nMessages();
        const missing = messages.filter((m) => !(m.text in bundle)).map((m) => `${m.where}: ${m.text}`);
        assert.deepEqual(missing, [], `${language}: messages without a translation`);
        const used = new Set(messages.map((m) => m.text));
        const stale = Object.keys(bundle).filter((key) => !used.has(key));
        assert.deepEqual(stale, [], `${language}: translations of messages the extension no longer has`);
        for (const [text, translation] of Object.entries(bundle)) {
            assert.ok(translation.trim().length > 0, `${language}: "${text}" is empty`);
            assert.deepEqual(placeholders(translation), placeholders(text), `${language}: "${text}" keeps its {n}`);
        }
    });
}
