// Task adapters reach llama.cpp under content-addressed names, because node-llama-cpp caches
// LoRAs by path for the model's lifetime: a replaced file must get a new path, never the old one.

import assert from "node:assert/strict";
import {mkdtemp, readdir, readFile, rename, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {basename, join} from "node:path";
import {after, before, test} from "node:test";
import {AdapterChangedError} from "../../engine/adapters/errors";
import {hashFile, sha256Text} from "../../engine/files/sha256";
import {ContentAddressedLoras} from "../../engine/runtime/loraFiles";

let dir = "";
before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lora-files-"));
});
after(async () => {
    await rm(dir, {recursive: true, force: true});
});

test("a replaced adapter file gets a new path; the old path keeps the old bytes", async () => {
    const links = new ContentAddressedLoras(join(dir, "links"));
    const file = join(dir, "adapter.gguf");
    await writeFile(file, "old weights");
    const listed = await hashFile(file);
    const oldPath = await links.pathFor(listed);
    assert.equal(basename(oldPath), `${sha256Text("old weights")}.gguf`);
    assert.equal(await links.pathFor(listed), oldPath, "memoized");

    // What the store does on replace: a new file renamed over the old one.
    await writeFile(`${file}.new`, "new weights");
    await rename(`${file}.new`, file);
    const newPath = await links.pathFor(await hashFile(file));
    assert.notEqual(newPath, oldPath);
    assert.equal(await readFile(newPath, "utf8"), "new weights");
    assert.equal(await readFile(oldPath, "utf8"), "old weights", "a hard link pins the content that was hashed");
});

test("a file edited since it was listed is refused, not linked; one only touched is linked", async () => {
    const links = new ContentAddressedLoras(join(dir, "links-changed"));
    const file = join(dir, "changed.gguf");
    await writeFile(file, "as listed");
    const listed = await hashFile(file);
    await writeFile(file, "edited in place");
    await assert.rejects(links.pathFor(listed), (error: unknown) => {
        assert.ok(error instanceof AdapterChangedError);
        assert.equal(error.code, "adapter-changed");
        assert.match(error.message, /changed\.gguf changed on disk after the engine listed it/);
        return true;
    });
    assert.deepEqual(await readdir(join(dir, "links-changed")), [], "no link and no temp file left");
    // Another version with the listed bytes (copied back, touched): hashed again, and linked.
    await writeFile(file, "as listed");
    assert.equal(await readFile(await links.pathFor(listed), "utf8"), "as listed");
});

test("prune deletes links of content no longer installed", async () => {
    const linksDir = join(dir, "links-prune");
    const links = new ContentAddressedLoras(linksDir, 0);
    const file = join(dir, "kept.gguf");
    await writeFile(file, "kept");
    await links.pathFor(await hashFile(file));
    const stale = new ContentAddressedLoras(linksDir, 0);
    await writeFile(join(linksDir, `${"a".repeat(64)}.gguf`), "removed adapter");
    await stale.prune(new Set([sha256Text("kept")]));
    assert.deepEqual(await readdir(linksDir), [`${sha256Text("kept")}.gguf`]);
});
