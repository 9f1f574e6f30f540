// Derived files (files/derivedFile.ts) record their last use, and pruneDerivedFiles forgets the ones
// nothing needs: a pack upgrade or a replaced adapter would otherwise leave ~30 MB per fused mix
// in the cache forever.

import assert from "node:assert/strict";
import {mkdtemp, readdir, rm, stat, utimes, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {derivedFile, pruneDerivedFiles} from "../../engine/files/derivedFile";

const HOUR = 60 * 60 * 1000;
const name = (prefix: string, digit: string) => `${prefix}-${digit.repeat(64)}.lora.gguf`;
const owns = (file: string) => /^(fused|calibration)-[0-9a-f]{64}\.lora\.gguf$/.test(file);

describe("derived files: last use and pruning", () => {
    let dir = "";
    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "derived-prune-"));
    });
    after(async () => {
        await rm(dir, {recursive: true, force: true});
    });

    async function made(file: string, usedHoursAgo: number): Promise<void> {
        await derivedFile(join(dir, file), (temporary) => writeFile(temporary, file));
        const then = new Date(Date.now() - usedHoursAgo * HOUR);
        await utimes(join(dir, `${file}.json`), then, then);
    }

    test("reusing an intact file marks its record as used now, and does not rebuild it", async () => {
        const file = name("fused", "a");
        await made(file, 5);
        const before = (await stat(join(dir, `${file}.json`))).mtimeMs;
        const reused = await derivedFile(join(dir, file), () => Promise.reject(new Error("must not rebuild")));
        assert.equal(reused.built, false);
        const usedAt = (await stat(join(dir, `${file}.json`))).mtimeMs;
        assert.ok(usedAt - before > 4 * HOUR, "the record's time is the last use");
    });

    test("deletes unneeded files unused for the period, with their records; keeps the rest", async () => {
        const stale = name("fused", "b");
        const staleExpansion = name("calibration", "c");
        const recent = name("fused", "d");
        const needed = name("fused", "e");
        await made(stale, 2);
        await made(staleExpansion, 3);
        await made(recent, 0.1);
        await made(needed, 48);
        await writeFile(join(dir, "other.gguf"), "not a derived file"); // someone else's: never touched
        const oldOther = new Date(Date.now() - 48 * HOUR);
        await utimes(join(dir, "other.gguf"), oldOther, oldOther);

        const deleted = await pruneDerivedFiles(dir, {owns, keep: new Set([needed]), unusedForMs: HOUR});

        assert.deepEqual(deleted.sort(), [staleExpansion, stale].sort());
        const left = new Set(await readdir(dir));
        for (const gone of [stale, `${stale}.json`, staleExpansion, `${staleExpansion}.json`])
            assert.ok(!left.has(gone), `${gone} deleted`);
        for (const kept of [recent, `${recent}.json`, needed, `${needed}.json`, "other.gguf"])
            assert.ok(left.has(kept), `${kept} kept`);
    });

    test("a missing folder prunes nothing", async () => {
        assert.deepEqual(await pruneDerivedFiles(join(dir, "absent"), {owns, keep: new Set(), unusedForMs: 0}), []);
    });
});
