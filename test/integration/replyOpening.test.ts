// A reply to an email begins with an email's opening and the model writes on from it; a reply to a
// chat line does not (compose/replyOpening.ts, composer.ts). The opening is streamed first and is
// not in the generation's own text: the model read it, it did not write it.

import assert from "node:assert/strict";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {REPLY_OPENING} from "../../engine/compose/replyOpening";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../engine/config";
import {Engine} from "../../engine/engine";
import {realModelPath, repoRoot} from "../support/realModel";

const EMAIL = [
    "Hello everyone,",
    "",
    "The build server will be down on Saturday from 9 to 12 for a disk upgrade. Please push your changes before Friday evening, and tell me if that is a problem for your release.",
    "",
    "Thanks,",
    "Dana",
].join("\n");
const CHAT_LINE = "I love the GTA series too! I'm more of a role-playing game person, but I still love GTA.";

describe("a reply begun as an email (bundled pack)", () => {
    let work: string;
    let engine: Engine;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "composer-opening-"));
        const pack = packIn(work, {adapterDirs: [join(repoRoot(), "adapters")]});
        engine = await Engine.open(engineConfig(await realModelPath(), pack, {threads: 2, maxContexts: 1}));
    });

    after(async () => {
        await engine.dispose();
        await rm(work, {recursive: true, force: true});
    });

    test("to an email: the opening, streamed first, then the model's own words", async () => {
        const streamed: string[] = [];
        const result = await engine.compose(
            {chain: parseTaskChain("reply"), method: "auto", input: EMAIL},
            {onText: (text) => streamed.push(text)},
        );
        assert.ok(result.text.startsWith(REPLY_OPENING), result.text);
        assert.match(result.text.slice(REPLY_OPENING.length), /\p{L}{3}/u, "the model wrote on from the opening");
        assert.equal(streamed[0], REPLY_OPENING);
        const [first] = result.passes;
        assert.ok(
            first !== undefined && !first.generation.text.includes(REPLY_OPENING.trim()),
            "not written by the model",
        );
    });

    test("to a chat line: no opening", async () => {
        const result = await engine.compose({chain: parseTaskChain("reply"), method: "auto", input: CHAT_LINE});
        assert.ok(!result.text.startsWith(REPLY_OPENING), result.text);
    });
});
