// Task adapters reach llama.cpp under content-addressed names, because node-llama-cpp caches
// LoRAs by path for the model's lifetime: a replaced file must get a new path, never the old one.

import assert from "node:assert/strict";
import {mkdtemp, readdir, readFile, rename, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {basename, join} from "node:path";
import {after, before, test} from "node:test";
import {sha256Text} from "../../engine/files/sha256";
import {AdapterChangedError, ContentAddressedLoras} from "../../engine/runtime/loraFiles";

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
    const oldPath = await links.pathFor(file, sha256Text("old weights"));
    assert.equal(basename(oldPath), `${sha256Text("old weights")}.gguf`);
    assert.equal(await links.pathFor(file, sha256Text("old weights")), oldPath, "memoized");

    // What the store does on replace: a new file renamed over the old one.
    await writeFile(`${file}.new`, "new weights");
    await rename(`${file}.new`, file);
    const newPath = await links.pathFor(file, sha256Text("new weights"));
    assert.notEqual(newPath, oldPath);
    assert.equal(await readFile(newPath, "utf8"), "new weights");
    assert.equal(await readFile(oldPath, "utf8"), "old weights", "a hard link pins the content that was hashed");
});

test("a file that no longer hashes to its listed sha256 is refused, not linked", async () => {
    const links = new ContentAddressedLoras(join(dir, "links-changed"));
    const file = join(dir, "changed.gguf");
    await writeFile(file, "edited in place");
    await assert.rejects(links.pathFor(file, sha256Text("as listed")), (error: unknown) => {
        assert.ok(error instanceof AdapterChangedError);
        assert.equal(error.code, "adapter-changed");
        assert.match(error.message, /changed\.gguf changed on disk after the engine listed it/);
        return true;
    });
    assert.deepEqual(await readdir(join(dir, "links-changed")), [], "no link and no temp file left");
});

test("prune deletes links of content no longer installed", async () => {
    const linksDir = join(dir, "links-prune");
    const links = new ContentAddressedLoras(linksDir, 0);
    const file = join(dir, "kept.gguf");
    await writeFile(file, "kept");
    await links.pathFor(file, sha256Text("kept"));
    const stale = new ContentAddressedLoras(linksDir, 0);
    await writeFile(join(linksDir, `${"a".repeat(64)}.gguf`), "removed adapter");
    await stale.prune(new Set([sha256Text("kept")]));
    assert.deepEqual(await readdir(linksDir), [`${sha256Text("kept")}.gguf`]);
});
