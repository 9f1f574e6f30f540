import assert from "node:assert/strict";
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {craftAdapter, sha256Hex, writeTinyBaseModel} from "../../craft/gguf";
import {AdapterStoreError, AdapterValidationError} from "../../engine/adapters/errors";
import {AdapterStore} from "../../engine/adapters/store";
import type {BaseModelStructure} from "../../engine/model/fingerprint";

let root = "";
let base: BaseModelStructure;
let bundledDir = "";
let downloads = "";

before(async () => {
    root = await mkdtemp(join(tmpdir(), "adapter-store-"));
    ({base} = await writeTinyBaseModel(join(root, "base.gguf")));
    bundledDir = join(root, "bundled");
    downloads = join(root, "downloads");
    // Bundled pack: one good adapter, one whose file no longer matches its manifest, one misnamed.
    await craftAdapter(join(bundledDir, "test.summarize"), base, {task: "summarize"});
    const corrupt = await craftAdapter(join(bundledDir, "test.reply"), base, {task: "reply", seed: 2});
    const bytes = await readFile(corrupt.ggufPath);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(corrupt.ggufPath, bytes);
    await craftAdapter(join(bundledDir, "renamed-folder"), base, {task: "tone:casual", id: "test.tone-casual"});
    await writeFile(join(bundledDir, "README.md"), "not an adapter");
});
after(async () => {
    await rm(root, {recursive: true, force: true});
});

function newStore(name: string) {
    return new AdapterStore({bundledDirs: [bundledDir], writableDir: join(root, name, "user")});
}

const summary = (entries: Awaited<ReturnType<AdapterStore["list"]>>) =>
    entries.map((e) => [
        e.id,
        e.status,
        e.bundled,
        e.status === "invalid" ? e.error.code : e.adapter.manifest.chainKey,
    ]);

test("list reports valid and invalid bundled adapters without throwing, and ignores stray files", async () => {
    const store = newStore("list");
    const entries = await store.list(base);
    assert.deepEqual(summary(entries), [
        ["renamed-folder", "invalid", true, "id-mismatch"],
        ["test.reply", "invalid", true, "sha256-mismatch"],
        ["test.summarize", "valid", true, "summarize"],
    ]);
    const bad = entries.find((e) => e.id === "test.reply");
    assert.ok(bad?.status === "invalid");
    assert.match(bad.error.message, /test\.reply[/\\]adapter\.gguf: sha256 is/);
    const misnamed = entries.find((e) => e.id === "renamed-folder");
    assert.ok(misnamed?.status === "invalid");
    assert.match(misnamed.error.message, /id "test\.tone-casual" differs from its folder name "renamed-folder"/);
});

test("install copies a validated adapter into <writable>/<id>/ and list/verify see it", async () => {
    const store = newStore("install");
    const source = await craftAdapter(join(downloads, "fr-download-1"), base, {task: "translate:fr"});
    const installed = await store.install(source.dir, base);
    const target = join(store.writableDir, "test.translate-fr");
    assert.equal(installed.dir, target);
    assert.equal(installed.ggufPath, join(target, "adapter.gguf"));
    assert.deepEqual((await readdir(target)).sort(), ["adapter.gguf", "manifest.json"]);
    assert.deepEqual(await readdir(store.writableDir), ["test.translate-fr"], "no staging folders left");
    assert.equal(await sha256Hex(installed.ggufPath), source.sha256);

    // Also from a manifest.json path.
    const viaManifest = await craftAdapter(join(downloads, "de"), base, {task: "translate:de"});
    await store.install(viaManifest.manifestPath, base);

    assert.deepEqual(summary(await store.list(base)), [
        ["renamed-folder", "invalid", true, "id-mismatch"],
        ["test.reply", "invalid", true, "sha256-mismatch"],
        ["test.summarize", "valid", true, "summarize"],
        ["test.translate-de", "valid", false, "translate:de"],
        ["test.translate-fr", "valid", false, "translate:fr"],
    ]);
    const verified = await store.verify("test.translate-fr", base);
    assert.equal(verified.sha256, source.sha256);
});

test("install refuses an existing id unless replace, which swaps it atomically", async () => {
    const store = newStore("replace");
    const first = await craftAdapter(join(downloads, "v1"), base, {task: "translate:es", seed: 10});
    const second = await craftAdapter(join(downloads, "v2"), base, {task: "translate:es", seed: 11});
    await store.install(first.dir, base);
    await assert.rejects(store.install(second.dir, base), (error: unknown) => {
        assert.ok(error instanceof AdapterStoreError);
        assert.equal(error.code, "already-exists");
        assert.match(error.message, /"test\.translate-es" is already installed/);
        return true;
    });
    assert.equal((await store.verify("test.translate-es", base)).sha256, first.sha256);

    await store.install(second.dir, base, {replace: true});
    assert.equal((await store.verify("test.translate-es", base)).sha256, second.sha256);
    assert.deepEqual(await readdir(store.writableDir), ["test.translate-es"], "old copy and staging removed");
});

test("a user adapter can shadow a bundled one only with replace; removing it brings the bundled one back", async () => {
    const store = newStore("shadow");
    const mine = await craftAdapter(join(downloads, "my-summarize"), base, {task: "summarize", seed: 99});
    await assert.rejects(store.install(mine.dir, base), {code: "already-exists", message: /already bundled/});
    await store.install(mine.dir, base, {replace: true});
    let entry = (await store.list(base)).find((e) => e.id === "test.summarize");
    assert.ok(entry?.status === "valid" && !entry.bundled && entry.adapter.sha256 === mine.sha256);

    await store.remove("test.summarize");
    entry = (await store.list(base)).find((e) => e.id === "test.summarize");
    assert.ok(entry?.status === "valid" && entry.bundled);
    await assert.rejects(store.remove("test.summarize"), (error: unknown) => {
        assert.ok(error instanceof AdapterStoreError);
        assert.equal(error.code, "read-only");
        assert.match(error.message, /"test\.summarize" is bundled/);
        return true;
    });
    await assert.rejects(store.remove("test.nothing"), {code: "not-found", message: /No adapter "test\.nothing"/});
    await assert.rejects(store.remove("../escape"), {code: "bad-id"});
    assert.deepEqual(await readdir(store.writableDir), [], "nothing left after remove");
});

test("installing an invalid adapter throws its validation error and leaves no trace", async () => {
    const store = newStore("invalid");
    await mkdir(store.writableDir, {recursive: true});
    const bad = await craftAdapter(
        join(downloads, "bad"),
        base,
        {task: "tone:witty"},
        {
            editGguf: (g) => {
                const tensor = g.tensors[0];
                if (tensor) tensor.data[0] = Number.POSITIVE_INFINITY;
            },
        },
    );
    await assert.rejects(store.install(bad.dir, base), (error: unknown) => {
        assert.ok(error instanceof AdapterValidationError);
        assert.equal(error.code, "non-finite-value");
        return true;
    });
    await assert.rejects(store.install(join(downloads, "does-not-exist"), base), {code: "manifest-missing"});
    await assert.rejects(store.install(bad.ggufPath, base), {code: "bad-source"});
    assert.deepEqual(await readdir(store.writableDir), []);
});

test("an installed adapter corrupted later is listed as invalid and fails verify", async () => {
    const store = newStore("corrupt");
    const source = await craftAdapter(join(downloads, "witty"), base, {task: "tone:witty"});
    const installed = await store.install(source.dir, base);
    await writeFile(installed.ggufPath, (await readFile(installed.ggufPath)).subarray(0, 1000));
    const entry = (await store.list(base)).find((e) => e.id === "test.tone-witty");
    assert.ok(entry?.status === "invalid");
    assert.equal(entry.error.code, "sha256-mismatch");
    await assert.rejects(store.verify("test.tone-witty", base), {code: "sha256-mismatch"});
    await assert.rejects(store.verify("test.unknown", base), {code: "not-found"});
});
