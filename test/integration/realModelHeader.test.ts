// Reads the real default base model (Gemma 3 270M, Q4_K_M) when it is on this machine: header
// facts, its structural fingerprint, header-read time, and a full-size crafted adapter validated
// against it.

import assert from "node:assert/strict";
import {existsSync} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {homedir, tmpdir} from "node:os";
import {join} from "node:path";
import {test} from "node:test";
import {ALL_LINEAR_MODULES, craftAdapter} from "../../craft/gguf";
import {validateAdapter} from "../../engine/adapters/validate";
import {metaNumber, metaString, metaStringArray, readGgufHeader} from "../../engine/gguf";
import {describeBaseModel} from "../../engine/model/fingerprint";

const MODEL_PATH = join(homedir(), ".cache", "composer-lc", "models", "gemma-3-270m-q4_k_m.gguf");
const skip = existsSync(MODEL_PATH) ? false : `base model not downloaded (${MODEL_PATH}); run the setup first`;

test("Gemma 3 270M: header, fingerprint, and a rank-16 adapter on every module of every layer", {skip}, async () => {
    const started = performance.now();
    const header = await readGgufHeader(MODEL_PATH);
    const readMs = performance.now() - started;
    console.log(`readGgufHeader(${MODEL_PATH}): ${readMs.toFixed(0)} ms for ${header.fileSize} bytes`);

    assert.equal(metaString(header, "general.architecture"), "gemma3");
    assert.equal(header.tensors.length, 236);
    assert.equal(metaStringArray(header, "tokenizer.ggml.tokens").length, 262144);
    assert.equal(metaNumber(header, "gemma3.block_count"), 18);
    const lastByte = Math.max(...header.tensors.map((t) => header.dataOffset + t.offset + t.byteLength));
    assert.equal(lastByte, header.fileSize, "tensor sizes account for every byte of the file");

    const base = describeBaseModel(header);
    console.log(`fingerprint: ${base.fingerprint} (${base.name})`);
    assert.match(base.fingerprint, /^[0-9a-f]{64}$/);
    assert.deepEqual(base.tensors.get("token_embd.weight"), [640, 262144]);

    const dir = await mkdtemp(join(tmpdir(), "real-model-adapter-"));
    try {
        const crafted = await craftAdapter(join(dir, "gemma3-270m.summarize"), base, {rank: 16, seed: 7});
        const validateStarted = performance.now();
        const adapter = await validateAdapter(crafted.dir, base);
        console.log(
            `validateAdapter: ${(performance.now() - validateStarted).toFixed(0)} ms for ${adapter.header.fileSize} bytes`,
        );
        assert.equal(adapter.rank, 16);
        assert.deepEqual(adapter.targetModules, ALL_LINEAR_MODULES);
        assert.deepEqual(
            adapter.layers,
            Array.from({length: 18}, (_, i) => i),
        );
        assert.equal(adapter.header.tensors.length, 18 * 7 * 2);
        assert.deepEqual(adapter.warnings, []);
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});
