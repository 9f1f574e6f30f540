// The Q8_0 file derived from the real default model (engine/model/requantize.ts), chosen by its
// catalog id: the engine process makes it from the verified pinned download, as the editor's
// "Download Model" asks, and it has exactly the catalog's sha256, the same structural fingerprint
// (so the bundled pack applies) and every Q5_0 weight unchanged. "default" stays the download;
// the CLI makes the derived file on first use and rebuilds a damaged one. A missing pinned
// download fails the test (run the setup first).

import assert from "node:assert/strict";
import {copyFile, link, mkdtemp, rm, truncate} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {hostScriptPath} from "../../engine/config";
import {sha256File} from "../../engine/files/sha256";
import {GgmlType, GgufTensorFile, ggmlTypeName, metaNumber, metaString, readGgufHeader} from "../../engine/gguf";
import {dequantize} from "../../engine/gguf/quant";
import {EngineClient} from "../../engine/isolation/engineClient";
import {DEFAULT_MODEL, type DerivedModel} from "../../engine/model/catalog";
import {locateOrDeriveBaseModel, type ModelFetchProgress} from "../../engine/model/fetch";
import {baseFingerprint} from "../../engine/model/fingerprint";
import {cachePaths} from "../../engine/model/paths";
import {locateBaseModel, parseBaseModelSetting} from "../../engine/model/setting";
import {repoRoot} from "../support/realModel";

const variant = DEFAULT_MODEL.derived.find((d) => d.quantization === "Q8_0") as DerivedModel;
let models: string;
let pinned: string;

before(async () => {
    models = await mkdtemp(join(tmpdir(), "composer-derived-real-"));
    pinned = join(models, DEFAULT_MODEL.fileName);
    const real = join(cachePaths().models, DEFAULT_MODEL.fileName);
    // A hard link costs nothing; a copy where the folders are on different file systems.
    await link(real, pinned).catch(() => copyFile(real, pinned));
});

after(async () => {
    await rm(models, {recursive: true, force: true});
});

test("the engine process makes Q8_0 from the verified Q4_K_M: the catalog's bytes, same fingerprint, Q5_0 weights unchanged", async () => {
    const client = new EngineClient({hostScript: hostScriptPath(repoRoot())});
    const seen: ModelFetchProgress[] = [];
    const started = performance.now();
    let path: string;
    try {
        path = await client.fetchModel(parseBaseModelSetting(variant.id), {
            modelsDir: models,
            onProgress: (p) => seen.push(p),
        });
    } finally {
        await client.dispose();
    }
    console.log(`verified and derived ${variant.fileName} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.deepEqual(
        seen.map((p) => `${p.step} ${p.done}/${p.total}`),
        ["verify 0/1", "verify 1/1", "derive 0/1", "derive 1/1"],
        "the download in place is checked, not fetched, then the file is made",
    );
    assert.equal(path, join(models, variant.fileName));
    assert.equal(await sha256File(path), variant.sha256);

    const [source, derived] = [await readGgufHeader(pinned), await readGgufHeader(path)];
    assert.equal(derived.fileSize, variant.sizeBytes);
    assert.equal(baseFingerprint(derived), baseFingerprint(source));
    assert.equal(metaNumber(derived, "general.file_type"), 7);
    assert.equal(metaString(derived, "composer.derived_from.sha256"), DEFAULT_MODEL.sha256);
    const types = new Map<string, number>();
    for (const t of derived.tensors) types.set(ggmlTypeName(t.type), (types.get(ggmlTypeName(t.type)) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(types), {F32: 109, Q8_0: 127});

    // Every Q5_0 tensor of the download decodes to the same float32 values from the derived file.
    const [a, b] = [await GgufTensorFile.open(source), await GgufTensorFile.open(derived)];
    try {
        let compared = 0;
        for (const tensor of source.tensors.filter((t) => t.type === GgmlType.Q5_0)) {
            const other = derived.tensors.find((t) => t.name === tensor.name);
            assert.ok(other !== undefined && other.type === GgmlType.Q8_0, tensor.name);
            const n = tensor.ne.reduce((x, y) => x * y, 1);
            const before = dequantize(GgmlType.Q5_0, await a.readRaw(tensor), n);
            const after = dequantize(GgmlType.Q8_0, await b.readRaw(other), n);
            assert.deepEqual(after, before, tensor.name);
            compared++;
        }
        assert.equal(compared, 81);
    } finally {
        await a.close();
        await b.close();
    }
});

test('"default" runs the download; the CLI makes the derived file on first use and rebuilds a damaged one', async () => {
    const setting = parseBaseModelSetting(variant.id);
    const derivedPath = join(models, variant.fileName);
    assert.equal(await locateBaseModel({kind: "default"}, models), pinned, "the default is not the derived file");
    await rm(derivedPath);
    await rm(`${derivedPath}.json`);
    const seen: string[] = [];
    const options = {
        modelsDir: models,
        onProgress: (p: ModelFetchProgress) => seen.push(`${p.step} ${p.done}/${p.total}`),
    };
    assert.equal(await locateOrDeriveBaseModel(setting, options), derivedPath);
    assert.deepEqual(seen, ["derive 0/1", "derive 1/1"]);
    assert.equal(await locateOrDeriveBaseModel(setting, options), derivedPath);
    assert.deepEqual(seen, ["derive 0/1", "derive 1/1"], "an intact file is reused");
    await truncate(derivedPath, 4096);
    assert.equal(await locateOrDeriveBaseModel(setting, options), derivedPath);
    assert.deepEqual(seen.length, 4, "a damaged file is made again");
    assert.equal(await sha256File(derivedPath), variant.sha256);
    assert.equal(await locateOrDeriveBaseModel({kind: "default"}, options), pinned);
});
