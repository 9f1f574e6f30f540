// A pinned model's derived file (engine/model/derivedModel.ts): made next to the pinned download
// when missing, reused while intact, rebuilt when damaged, refused when its bytes are not the
// pinned ones, never made from a source that is not the pinned file, and a cancel leaves
// nothing. Also the "base model" setting's catalog ids and where locateBaseModel finds them
// (default stays the pinned download itself: docs/base-model.md says what is owed first).

import assert from "node:assert/strict";
import {mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {DerivedFileMismatchError, derivedFile, isIntactDerivedFile} from "../../engine/files/derivedFile";
import {sha256File} from "../../engine/files/sha256";
import {GgmlType, readGgufHeader} from "../../engine/gguf";
import {catalogFile, DEFAULT_MODEL, type DerivedModel, type KnownModel} from "../../engine/model/catalog";
import {DerivedModelError, deriveModelFile, ensureDerivedModel} from "../../engine/model/derivedModel";
import {baseFingerprint} from "../../engine/model/fingerprint";
import {locateBaseModel, ModelNotAvailableError, parseBaseModelSetting} from "../../engine/model/setting";
import {writeQuantizedModel} from "../support/quantizedModel";

let dir: string;
let model: KnownModel;
let variant: DerivedModel;

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "composer-derived-model-"));
    const sourcePath = join(dir, "pinned-source.gguf");
    await writeQuantizedModel(sourcePath);
    const pinned: KnownModel = {...DEFAULT_MODEL, fileName: "tiny.gguf", sha256: await sha256File(sourcePath)};
    const q8: DerivedModel = {...(DEFAULT_MODEL.derived[0] as DerivedModel), fileName: "tiny.q8_0.gguf", sha256: ""};
    // The catalog pins the derivation's bytes: computed here once, as the catalog's were.
    const scratch = join(dir, "scratch.gguf");
    await deriveModelFile(pinned, q8, sourcePath, scratch);
    variant = {...q8, sha256: await sha256File(scratch), sizeBytes: (await stat(scratch)).size};
    model = {...pinned, derived: [variant]};
    await rm(scratch);
});

after(async () => {
    await rm(dir, {recursive: true, force: true});
});

async function modelsDir(name: string): Promise<string> {
    const models = join(dir, name);
    await mkdir(models);
    await writeFile(join(models, model.fileName), await readFile(join(dir, "pinned-source.gguf")));
    return models;
}

test("the derived file is made next to the download, then reused while intact", async () => {
    const models = await modelsDir("made");
    const progress: string[] = [];
    const onProgress = (done: number, total: number) => progress.push(`${done}/${total}`);
    const made = await ensureDerivedModel(model, variant, models, {onProgress});
    assert.deepEqual(made, {path: join(models, variant.fileName), built: true});
    assert.deepEqual(progress, ["0/1", "1/1"]);
    assert.equal(await sha256File(made.path), variant.sha256);
    const header = await readGgufHeader(made.path);
    assert.equal(baseFingerprint(header), baseFingerprint(await readGgufHeader(join(models, model.fileName))));
    assert.ok(header.tensors.every((t) => t.type === GgmlType.Q8_0 || t.type === GgmlType.F32));
    const madeAt = (await stat(made.path)).mtimeMs;
    assert.deepEqual(await ensureDerivedModel(model, variant, models, {onProgress}), {path: made.path, built: false});
    assert.equal((await stat(made.path)).mtimeMs, madeAt, "reused, not rebuilt");
    assert.deepEqual(progress, ["0/1", "1/1"], "a reuse reports no build");
});

test("a damaged derived file is rebuilt, not used", async () => {
    const models = await modelsDir("damaged");
    const {path} = await ensureDerivedModel(model, variant, models);
    await truncate(path, 1000);
    assert.deepEqual(await ensureDerivedModel(model, variant, models), {path, built: true});
    assert.equal(await sha256File(path), variant.sha256);
    // Same size, other bytes, a new modification time: hashed again, and rebuilt.
    const bytes = await readFile(path);
    bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 0xff, bytes.length - 1);
    await writeFile(path, bytes);
    assert.deepEqual(await ensureDerivedModel(model, variant, models), {path, built: true});
    assert.equal(await sha256File(path), variant.sha256);
});

test("a derivation whose bytes are not the catalog's is refused, and nothing is left behind", async () => {
    const models = await modelsDir("mismatch");
    const wrong: DerivedModel = {...variant, sha256: "0".repeat(64)};
    await assert.rejects(
        ensureDerivedModel({...model, derived: [wrong]}, wrong, models),
        (error: unknown) => error instanceof DerivedFileMismatchError && /expected 0{64}/.test(error.message),
    );
    assert.deepEqual((await readdir(models)).sort(), [model.fileName]);
});

test("nothing is derived from a file that is not the pinned download", async () => {
    const models = await modelsDir("tampered");
    const bytes = await readFile(join(models, model.fileName));
    bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 0xff, bytes.length - 1);
    await writeFile(join(models, model.fileName), bytes);
    await assert.rejects(
        ensureDerivedModel(model, variant, models),
        (error: unknown) =>
            error instanceof DerivedModelError &&
            /sha256 differs.*composer models fetch gemma-3-270m-q4_k_m\.q8_0/.test(error.message),
    );
    assert.deepEqual((await readdir(models)).sort(), [model.fileName]);
});

test("a missing download says how to fetch it", async () => {
    const models = await modelsDir("missing");
    await rm(join(models, model.fileName));
    await assert.rejects(
        ensureDerivedModel(model, variant, models),
        (error: unknown) =>
            error instanceof ModelNotAvailableError &&
            /not downloaded yet\. Run "composer models fetch gemma-3-270m-q4_k_m\.q8_0"/.test(error.message),
    );
    assert.deepEqual(await readdir(models), []);
});

test("a cancelled build leaves only the download", async () => {
    const models = await modelsDir("cancelled");
    const controller = new AbortController();
    await assert.rejects(
        ensureDerivedModel(model, variant, models, {
            signal: controller.signal,
            onProgress: (done) => {
                if (done === 0) controller.abort();
            },
        }),
        (error: unknown) => (error as Error).name === "AbortError",
    );
    assert.deepEqual(await readdir(models), [model.fileName]);
});

test("trustUnchanged skips the hash only while size and modification time match the record", async () => {
    const path = join(dir, "trusted.bin");
    const options = {trustUnchanged: true};
    await derivedFile(path, (temporary) => writeFile(temporary, "derived bytes"), options);
    // Damage that keeps the size, with a record that (like bit rot) still matches size and time.
    await writeFile(path, "DERIVED BYTES");
    const record = JSON.parse(await readFile(`${path}.json`, "utf8")) as {mtimeMs: number};
    record.mtimeMs = (await stat(path)).mtimeMs;
    await writeFile(`${path}.json`, JSON.stringify(record));
    assert.equal(await isIntactDerivedFile(path, options), true, "same size and time: trusted (documented)");
    assert.equal(await isIntactDerivedFile(path), false, "a full check still sees it");
    await utimes(path, new Date(), new Date(record.mtimeMs + 5000));
    assert.equal(await isIntactDerivedFile(path, options), false, "a new time: hashed, and refused");
});

test("the base model setting: default, catalog ids, files and URIs", () => {
    assert.deepEqual(parseBaseModelSetting("default"), {kind: "default"});
    assert.deepEqual(parseBaseModelSetting(""), {kind: "default"});
    assert.deepEqual(parseBaseModelSetting(DEFAULT_MODEL.id), {kind: "known", id: DEFAULT_MODEL.id});
    assert.deepEqual(parseBaseModelSetting(" gemma-3-270m-q4_k_m.q8_0 "), {
        kind: "known",
        id: "gemma-3-270m-q4_k_m.q8_0",
    });
    assert.deepEqual(catalogFile("gemma-3-270m-q4_k_m.q8_0"), {
        model: DEFAULT_MODEL,
        derived: DEFAULT_MODEL.derived[0],
    });
    assert.deepEqual(parseBaseModelSetting("models/x.gguf", "/home/me"), {
        kind: "file",
        path: "/home/me/models/x.gguf",
    });
    assert.deepEqual(parseBaseModelSetting("hf:org/model"), {kind: "uri", uri: "hf:org/model"});
});

test("default is the pinned download; a catalog id finds its own file, and a missing one says how to get it", async () => {
    const models = join(dir, "locate");
    await mkdir(models);
    const q8 = parseBaseModelSetting("gemma-3-270m-q4_k_m.q8_0");
    const pinned = parseBaseModelSetting(DEFAULT_MODEL.id);
    await assert.rejects(
        locateBaseModel(q8, models),
        (error: unknown) =>
            error instanceof ModelNotAvailableError &&
            /not made yet: it is derived from the downloaded .* on first use\. Run "composer models fetch gemma-3-270m-q4_k_m\.q8_0"/.test(
                error.message,
            ),
    );
    await assert.rejects(
        locateBaseModel(pinned, models),
        /not downloaded yet\. Run "composer models fetch gemma-3-270m-q4_k_m"/,
    );
    await assert.rejects(locateBaseModel({kind: "known", id: "gemma-9"}, models), /No known model "gemma-9"/);
    // locateBaseModel only looks (the engine checks and makes files): placeholders are enough.
    await writeFile(join(models, DEFAULT_MODEL.fileName), "pinned");
    assert.equal(await locateBaseModel({kind: "default"}, models), join(models, DEFAULT_MODEL.fileName));
    assert.equal(await locateBaseModel(pinned, models), join(models, DEFAULT_MODEL.fileName));
    await assert.rejects(locateBaseModel(q8, models), /not made yet/, "the download alone does not make it");
    await writeFile(join(models, "gemma-3-270m-q4_k_m.q8_0.gguf"), "derived");
    assert.equal(await locateBaseModel(q8, models), join(models, "gemma-3-270m-q4_k_m.q8_0.gguf"));
    assert.equal(await locateBaseModel({kind: "default"}, models), join(models, DEFAULT_MODEL.fileName));
});
