// An email selected with the thread it answers: the reply answers the newest message, a tone
// rewrite leaves the quoted message as its writer wrote it, a translation keeps the quoting marks,
// and a summary has a paragraph for each writer, summarized apart (engine/compose/mailParts.ts). Real list emails from bench/realtext/emails.jsonl: before,
// the reply to mail-027 with mail-034 quoted under it answered mail-034.

import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {threadByWriter, writerTurn} from "../../engine/compose/mailParts";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../engine/config";
import {Engine} from "../../engine/engine";
import {realModelPath, repoRoot} from "../support/realModel";

const EMAILS = new Map(
    readFileSync(join(repoRoot(), "bench", "realtext", "emails.jsonl"), "utf8")
        .split("\n")
        .filter((line) => line.trim().length > 0)
        .map((line) => JSON.parse(line) as {id: string; text: string})
        .map((email) => [email.id, email.text.trim()]),
);
const ATTRIBUTION = "On Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <alex@example.org> wrote:";
const quoting = (message: string) => message.split("\n").map((line) => (line === "" ? ">" : `> ${line}`));
const thread = (message: string, quoted: string) => `${message}\n\n${ATTRIBUTION}\n${quoting(quoted).join("\n")}\n`;

describe("an email with its quoted thread (bundled pack)", () => {
    let work: string;
    let engine: Engine;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "composer-quoted-"));
        const pack = packIn(work, {adapterDirs: [join(repoRoot(), "adapters")]});
        engine = await Engine.open(engineConfig(await realModelPath(), pack, {threads: 2, maxContexts: 1}));
    });

    after(async () => {
        await engine.dispose();
        await rm(work, {recursive: true, force: true});
    });

    test("the reply answers the newest message, as if the quoted one were not there", async () => {
        const message = EMAILS.get("mail-027");
        const quoted = EMAILS.get("mail-034");
        assert.ok(message && quoted, "mail-027 and mail-034 in bench/realtext/emails.jsonl");
        const chain = parseTaskChain("reply");
        const alone = await engine.compose({chain, method: "auto", input: message});
        const withThread = await engine.compose({chain, method: "auto", input: thread(message, quoted)});
        assert.equal(withThread.text, alone.text);
        assert.ok(
            withThread.notes.some((note) => note.includes("earlier messages it quotes were left out")),
            withThread.notes.join(" | "),
        );
        assert.ok(!alone.notes.some((note) => note.includes("quotes")), alone.notes.join(" | "));
    });

    test("a tone rewrite leaves the quoted message and its attribution as they were", async () => {
        const quoted =
            "Could someone bring the trail maps? I forgot mine at the office.\n\nWe meet at 9 at the north gate.";
        const input = thread("Sounds good to me, I will bring the maps on Saturday.", quoted);
        const result = await engine.compose({chain: parseTaskChain("tone:casual"), method: "auto", input});
        const tail = `${ATTRIBUTION}\n${quoting(quoted).join("\n")}`;
        assert.ok(result.text.endsWith(tail), result.text);
        assert.equal(result.passes.length, 1, "one generation, for the writer's own sentence");
    });

    test("a translation translates the quoted message under its marks and keeps its attribution", async () => {
        const quoted = "Could someone bring the trail maps?\n\nWe meet at the north gate.";
        const input = thread("Sounds good to me, I will bring the maps on Saturday.", quoted);
        const result = await engine.compose({chain: parseTaskChain("translate:fr"), method: "auto", input});
        const lines = result.text.split("\n");
        assert.ok(lines.includes(ATTRIBUTION), result.text);
        const quotedLines = lines.filter((line) => line.startsWith(">"));
        assert.equal(quotedLines.length, 3, result.text);
        // The quoted sentences written again, in French (too few words for language.ts to judge).
        for (const english of ["> Could someone bring the trail maps?", "> We meet at the north gate."])
            assert.ok(!lines.includes(english), result.text);
        assert.match(
            quotedLines.join(" "),
            /\b(?:la|le|les|nous|vous|pourriez)\b/iu,
            `the quote in French: ${result.text}`,
        );
    });

    test("a summary of a thread has a paragraph for each writer, summarized apart under their name", async () => {
        const message = EMAILS.get("mail-027");
        const quoted = EMAILS.get("mail-034");
        assert.ok(message && quoted, "mail-027 and mail-034 in bench/realtext/emails.jsonl");
        const input = thread(message, quoted);
        const parts = threadByWriter(input);
        assert.deepEqual(
            parts?.map((part) => part.writer),
            ["Alex Moreno", "Ben"],
        );
        const chain = parseTaskChain("summarize");
        const summary = await engine.compose({chain, method: "auto", input});
        const apart: string[] = [];
        for (const part of parts ?? [])
            apart.push((await engine.compose({chain, method: "auto", input: writerTurn(part.writer, part.text)})).text);
        assert.equal(summary.text, apart.join("\n\n"));
        assert.ok(
            summary.notes.some((note) => note.includes("each writer's part was summarized apart")),
            summary.notes.join(" | "),
        );
    });
});
