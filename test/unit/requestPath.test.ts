// The request path on real (tiny) files, without a model: what enters the engine is checked once,
// where it enters (adapters hashed and validated, calibrations read whole and bound to them), a
// refresh or an install checks only what changed, and a recipe's pass becomes its LoRA files
// (engine/passLoras.ts) from those verified values, hashing nothing again. Counted through the
// stores' injected hasher and reader, so a check repeated or skipped fails here.

import assert from "node:assert/strict";
import {cp, mkdir, mkdtemp, rm, stat, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {basename, dirname, join} from "node:path";
import {after, before, test} from "node:test";
import {
    adapterGguf,
    type CraftedAdapter,
    craftAdapter,
    randomLcppParameters,
    writeTinyBaseModel,
} from "../../craft/gguf";
import {AdapterStore} from "../../engine/adapters/store";
import {fusedMixFileName} from "../../engine/calibrations/fusedMix";
import {readCalibration} from "../../engine/calibrations/read";
import {CalibrationStore, calibrationFolderName} from "../../engine/calibrations/store";
import {writeCalibration} from "../../engine/calibrations/write";
import {buildRecipe, type Inventory} from "../../engine/compose/recipe";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {hashFile} from "../../engine/files/sha256";
import {writeGguf} from "../../engine/gguf";
import {loadInventory} from "../../engine/inventory";
import type {BaseModelStructure} from "../../engine/model/fingerprint";
import {PassLoras} from "../../engine/passLoras";

const SUM_FR = parseTaskChain("summarize+translate:fr");

let root = "";
let base: BaseModelStructure;
let bundled = "";
let calibrationRoot = "";
const crafted: CraftedAdapter[] = [];

before(async () => {
    root = await mkdtemp(join(tmpdir(), "request-path-"));
    ({base} = await writeTinyBaseModel(join(root, "base.gguf")));
    bundled = join(root, "bundled");
    for (const [task, seed] of [
        ["summarize", 1],
        ["translate:fr", 2],
    ] as const)
        crafted.push(await craftAdapter(join(bundled, `test.${task.replace(":", "-")}`), base, {task, seed, rank: 8}));
    calibrationRoot = join(root, "calibrations");
    const folder = join(calibrationRoot, calibrationFolderName(base));
    await mkdir(folder, {recursive: true});
    await writeCalibration(join(folder, "summarize+translate-fr.lcpp.gguf"), {
        architecture: base.architecture,
        chain: SUM_FR,
        baseFingerprint: base.fingerprint,
        adapters: crafted.map((adapter, index) => ({
            id: adapter.manifest.id as string,
            sha256: adapter.sha256,
            mergeWeight: index === 0 ? 1 : 0.75,
        })),
        promptTemplate: "Summarize in French: {input}",
        stopStrings: [],
        training: {},
        parameters: randomLcppParameters(base, 4, 3, 0.05),
    });
});

after(async () => {
    await rm(root, {recursive: true, force: true});
});

/** Stores over the test pack that record each adapter file hashed and each calibration read. */
function countedStores(userDir: string, bundledDir = bundled, calibrationDir = calibrationRoot) {
    const hashed: string[] = [];
    const read: string[] = [];
    const adapters = new AdapterStore({
        bundledDirs: [bundledDir],
        writableDir: join(root, userDir),
        hashFile: (path) => {
            hashed.push(basename(dirname(path)));
            return hashFile(path);
        },
    });
    const calibrations = new CalibrationStore([calibrationDir], {
        read: (path) => {
            read.push(basename(path));
            return readCalibration(path);
        },
    });
    const clear = () => {
        hashed.length = 0;
        read.length = 0;
    };
    return {adapters, calibrations, hashed, read, clear};
}

test("open checks each file once; a refresh checks nothing unchanged; an install hashes the new adapter once", async () => {
    const stores = countedStores("counted");
    const load = () => loadInventory(stores.adapters, stores.calibrations, base);

    const inventory = await load();
    assert.deepEqual(stores.hashed.sort(), ["test.summarize", "test.translate-fr"]);
    assert.deepEqual(stores.read, ["summarize+translate-fr.lcpp.gguf"]);
    const [calibration] = inventory.calibrations;
    assert.ok(calibration !== undefined);
    // Bound to the very adapters of the inventory, in the calibration's order, at its weights.
    assert.deepEqual(
        calibration.adapters.map((bound) => [bound.adapter, bound.mergeWeight]),
        [
            [inventory.adapters[0], 1],
            [inventory.adapters[1], 0.75],
        ],
    );

    stores.clear();
    const refreshed = await load();
    assert.deepEqual([stores.hashed, stores.read], [[], []], "a refresh with nothing changed reads nothing");
    assert.deepEqual(
        refreshed.adapters.map((adapter) => adapter.sha256),
        inventory.adapters.map((adapter) => adapter.sha256),
    );

    stores.clear();
    const casual = await craftAdapter(join(root, "downloads", "casual"), base, {task: "tone:casual", rank: 8});
    const installed = await stores.adapters.install(casual.dir, base);
    assert.deepEqual(
        stores.hashed,
        ["casual"],
        "the source, once: the copy is checked by the hash of what was written",
    );
    assert.equal((await hashFile(installed.ggufPath)).sha256, casual.sha256);
    stores.clear();
    const afterInstall = await load();
    assert.deepEqual(stores.hashed, [], "the refresh after an install does not hash the new adapter again");
    assert.deepEqual(
        afterInstall.adapters.map((adapter) => adapter.id),
        ["test.summarize", "test.tone-casual", "test.translate-fr"],
    );

    // An explicit verification always hashes; a file changed since is checked again by a listing.
    stores.clear();
    await stores.adapters.verify("test.tone-casual", base);
    assert.deepEqual(stores.hashed, ["test.tone-casual"]);
    stores.clear();
    await writeFile(installed.ggufPath, "truncated");
    const damaged = await load();
    assert.deepEqual(stores.hashed, ["test.tone-casual"]);
    assert.ok(!damaged.adapters.some((adapter) => adapter.id === "test.tone-casual"), "a damaged file is left out");
});

test("a calibration is bound where it enters: a replaced adapter unbinds it, with the reason, and auto falls back", async () => {
    const stores = countedStores("rebound");
    const logs: string[] = [];
    const load = () =>
        loadInventory(stores.adapters, stores.calibrations, base, (level, m) => logs.push(`${level}: ${m}`));
    assert.equal(buildRecipe(SUM_FR, "auto", await load()).method, "lc++");

    const retrained = await craftAdapter(join(root, "downloads", "fr-retrained"), base, {
        task: "translate:fr",
        seed: 9,
        rank: 8,
    });
    await stores.adapters.install(retrained.dir, base, {replace: true});
    stores.clear();
    const inventory = await load();
    assert.deepEqual(stores.read, [], "the calibration file is not read again, only bound again");
    assert.deepEqual(inventory.calibrations, []);
    assert.match(
        logs.join("\n"),
        /warn: Calibration .*summarize\+translate-fr\.lcpp\.gguf is not usable: adapter "test\.translate-fr" has changed since the calibration was trained/,
    );
    assert.equal(buildRecipe(SUM_FR, "auto", inventory).method, "multi-step");

    await stores.adapters.remove("test.translate-fr");
    assert.equal(buildRecipe(SUM_FR, "auto", await load()).method, "lc++", "the bundled adapter binds it again");
});

test("a request that names a refused calibration fails with that calibration's own error and code", async () => {
    const otherRoot = join(root, "calibrations-refused");
    const folder = join(otherRoot, calibrationFolderName(base));
    await mkdir(folder, {recursive: true});
    await cp(join(calibrationRoot, calibrationFolderName(base)), folder, {recursive: true});
    // An LC file trained for another base model, under this base's folder.
    await writeCalibration(join(folder, "summarize+translate-fr.lc.gguf"), {
        architecture: base.architecture,
        chain: SUM_FR,
        baseFingerprint: "e".repeat(64),
        adapters: crafted.map((adapter) => ({
            id: adapter.manifest.id as string,
            sha256: adapter.sha256,
            mergeWeight: 1,
        })),
        promptTemplate: "{input}",
        stopStrings: [],
        training: {},
        parameters: {
            kind: "lc",
            p: new Map([["attn_q", new Float32Array(base.tensors.get("blk.0.attn_q.weight")?.[1] ?? 0)]]),
        },
    });
    const stores = countedStores("refused", bundled, otherRoot);
    const inventory = await loadInventory(stores.adapters, stores.calibrations, base);
    assert.equal(inventory.calibrations.length, 1, "the LC++ file only");
    assert.throws(() => buildRecipe(SUM_FR, "lc", inventory), {
        name: "CalibrationBindingError",
        code: "base-mismatch",
        message: /summarize\+translate-fr\.lc\.gguf: trained for base eeeeeeeeeeee/,
    });
    assert.equal(buildRecipe(SUM_FR, "auto", inventory).method, "lc++");
});

test("a pass becomes its LoRA files once: a fused file made once, then only checked; one adapter under its content name", async () => {
    const stores = countedStores("mixes");
    const inventory: Inventory = await loadInventory(stores.adapters, stores.calibrations, base);
    const cacheDir = join(root, "cache-mixes");
    const loras = new PassLoras(base, cacheDir);
    const [pass] = buildRecipe(SUM_FR, "lc++", inventory).passes;
    stores.clear();

    const fused = await loras.mix(pass, "fused");
    const name = fusedMixFileName(
        {adapters: pass.adapters.map((use) => ({...use.adapter, scale: use.scale})), calibration: pass.calibration},
        base,
    );
    assert.deepEqual(fused.loras, [{filePath: join(cacheDir, name), scale: 1}]);
    const made = await stat(join(cacheDir, name));
    const again = await loras.mix(pass, "fused");
    assert.deepEqual(again, fused);
    const reused = await stat(join(cacheDir, name));
    assert.deepEqual([reused.ino, reused.mtimeMs], [made.ino, made.mtimeMs], "made once");
    // The check on later requests is not skipped: a file gone is made again.
    await rm(join(cacheDir, name));
    assert.deepEqual(await loras.mix(pass, "fused"), fused);
    assert.ok((await stat(join(cacheDir, name))).isFile());

    const [single] = buildRecipe(parseTaskChain("summarize"), "auto", inventory).passes;
    const summarize = inventory.adapters.find((adapter) => adapter.id === "test.summarize");
    assert.deepEqual((await loras.mix(single, "fused")).loras, [
        {filePath: join(cacheDir, "adapters", `${summarize?.sha256}.gguf`), scale: 1},
    ]);

    const separate = await loras.mix(pass, "separate");
    assert.deepEqual(
        separate.loras.map((lora) => [basename(dirname(lora.filePath)), lora.scale]),
        [
            ["adapters", 1],
            ["adapters", 0.75],
            [basename(cacheDir), 1],
        ],
    );
    assert.notEqual(separate.key, fused.key, "the two forms never share a context");

    // Nothing is hashed again: an adapter file that is the version listed is taken as listed,
    // even under a made-up sha256 (hashing it again would refuse that).
    const madeUp = {
        ...pass,
        adapters: pass.adapters.map((use) => ({...use, adapter: {...use.adapter, sha256: "0".repeat(64)}})),
    };
    assert.equal((await loras.mix(madeUp, "fused")).loras.length, 1);
});

test("an adapter edited after it was listed is refused when a pass would use it, before llama.cpp sees it", async () => {
    const copy = join(root, "bundled-edited");
    await cp(bundled, copy, {recursive: true});
    const stores = countedStores("edited", copy);
    const inventory = await loadInventory(stores.adapters, stores.calibrations, base);
    const [pass] = buildRecipe(SUM_FR, "lc++", inventory).passes;
    const [single] = buildRecipe(parseTaskChain("translate:fr"), "auto", inventory).passes;
    await writeGguf(join(copy, "test.translate-fr", "adapter.gguf"), adapterGguf(base, {seed: 5, rank: 8}));
    const loras = new PassLoras(base, join(root, "cache-edited"));
    for (const [form, which] of [
        ["fused", pass],
        ["separate", single],
    ] as const)
        await assert.rejects(loras.mix(which, form), {
            name: "AdapterChangedError",
            code: "adapter-changed",
            message: /test\.translate-fr[/\\]adapter\.gguf changed on disk after the engine listed it/,
        });
});
