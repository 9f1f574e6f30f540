import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import {copyFile, cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {craftAdapter, sha256Hex, writeTinyBaseModel} from "../../craft/gguf";
import {AdapterStoreError, AdapterValidationError} from "../../engine/adapters/errors";
import {AdapterStore} from "../../engine/adapters/store";
import {hashFile} from "../../engine/files/sha256";
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

test("an install copies the bytes it validated: a source replaced after it was hashed is refused, nothing installed", async () => {
    const source = await craftAdapter(join(downloads, "swapped"), base, {task: "tone:witty", seed: 40});
    const other = await craftAdapter(join(downloads, "swapped-other"), base, {task: "tone:witty", seed: 41});
    const store = new AdapterStore({
        bundledDirs: [],
        writableDir: join(root, "swapped", "user"),
        hashFile: async (path) => {
            const hashed = await hashFile(path);
            // Replaced by another valid adapter right after it was hashed, before it is copied.
            if (path === source.ggufPath) await copyFile(other.ggufPath, path);
            return hashed;
        },
    });
    await assert.rejects(store.install(source.dir, base), {
        code: "bad-source",
        message: /swapped changed while it was being installed; try again/,
    });
    assert.deepEqual(await readdir(store.writableDir), [], "no staging folder left");
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

/** The pid of a process that has exited: scratch folders it owned are abandoned. */
function deadPid(): number {
    const child = spawnSync(process.execPath, ["-e", ""]);
    assert.ok(child.pid !== undefined && child.pid > 0);
    return child.pid;
}

/** Copies an adapter folder to `<writable>/<name>`, as an interrupted operation would have left it. */
async function leaveFolder(store: AdapterStore, from: string, name: string): Promise<void> {
    await cp(from, join(store.writableDir, name), {recursive: true});
}

test("an interrupted replace or removal is put right at the next start, nothing lost", async () => {
    const old = await craftAdapter(join(downloads, "interrupted-old"), base, {task: "tone:casual", seed: 31});
    const fresh = await craftAdapter(join(downloads, "interrupted-new"), base, {task: "tone:casual", seed: 32});
    const id = "test.tone-casual";
    const dead = deadPid();

    // Killed between the two renames: only the old copy (moved aside) and the staged new one exist.
    const between = newStore("recover-between");
    await mkdir(between.writableDir, {recursive: true});
    await leaveFolder(between, old.dir, `.replaced-${id}-${dead}-0a1b2c3d`);
    await leaveFolder(between, fresh.dir, `.install-${id}-${dead}-4e5f6a7b`);
    let entry = (await between.list(base)).find((e) => e.id === id);
    assert.ok(entry?.status === "valid" && entry.adapter.sha256 === old.sha256, "the old copy is back");
    assert.deepEqual(await readdir(between.writableDir), [id]);

    // Killed after the new copy took the id: the old one is deleted.
    const after = newStore("recover-after");
    await mkdir(after.writableDir, {recursive: true});
    await leaveFolder(after, fresh.dir, id);
    await leaveFolder(after, old.dir, `.replaced-${id}-${dead}-0a1b2c3d`);
    const report = await after.recoverInterrupted();
    assert.deepEqual(report, {restored: [], removed: [`.replaced-${id}-${dead}-0a1b2c3d`]});
    assert.equal((await after.verify(id, base)).sha256, fresh.sha256);
    assert.deepEqual(await readdir(after.writableDir), [id]);

    // A removal interrupted after its rename stays removed; folders of earlier versions are handled too:
    // their ".trash-" copy is restored when the id is empty (an interrupted replace lost it), ".install-" deleted.
    const mixed = newStore("recover-mixed");
    await mkdir(mixed.writableDir, {recursive: true});
    await leaveFolder(mixed, old.dir, `.removed-test.gone-${dead}-11112222`);
    await leaveFolder(mixed, old.dir, `.trash-${id}-9f8e7d6c`);
    await leaveFolder(mixed, fresh.dir, `.install-${id}-Ab12Cd`);
    entry = (await mixed.list(base)).find((e) => e.id === id);
    assert.ok(entry?.status === "valid" && entry.adapter.sha256 === old.sha256);
    assert.deepEqual(await readdir(mixed.writableDir), [id]);

    // Folders of an operation still running in another live process are left alone.
    const running = newStore("recover-running");
    await mkdir(running.writableDir, {recursive: true});
    const live = `.install-${id}-${process.ppid}-0a0b0c0d`;
    await leaveFolder(running, fresh.dir, live);
    assert.deepEqual(
        (await running.list(base)).filter((e) => !e.bundled),
        [],
    );
    assert.deepEqual(await readdir(running.writableDir), [live]);
});

test("a symbolic link in the user folder is neither listed nor removed nor replaced", async () => {
    const store = newStore("symlinks");
    const target = await craftAdapter(join(downloads, "linked-target"), base, {task: "tone:professional"});
    await mkdir(store.writableDir, {recursive: true});
    await symlink(target.dir, join(store.writableDir, "test.tone-professional"), "dir");
    assert.deepEqual(await store.list(base).then((entries) => entries.filter((e) => !e.bundled)), []);
    await assert.rejects(store.remove("test.tone-professional"), {
        code: "not-a-folder",
        message: /test\.tone-professional is a symbolic link, which the store does not list or manage/,
    });
    const other = await craftAdapter(join(downloads, "linked-other"), base, {task: "tone:professional", seed: 5});
    await assert.rejects(store.install(other.dir, base, {replace: true}), {code: "not-a-folder"});
    assert.equal(await sha256Hex(join(target.dir, "adapter.gguf")), target.sha256, "the link's target is intact");
    assert.ok((await lstat(join(store.writableDir, "test.tone-professional"))).isSymbolicLink());
});

test("an over-long id is refused with a clear message, not ENAMETOOLONG", async () => {
    const store = newStore("long-id");
    await assert.rejects(store.remove("a".repeat(300)), {
        code: "bad-id",
        message: /is not a valid adapter id: it is 300 characters long; an adapter id has at most 128/,
    });
    const long = await craftAdapter(join(downloads, "long-id"), base, {id: `t.${"x".repeat(260)}`});
    await assert.rejects(store.install(long.dir, base), {
        code: "manifest-invalid",
        message: /"id" is 262 characters long/,
    });
});
