import assert from "node:assert/strict";
import {mkdir, mkdtemp, readFile, rm, unlink, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {
    adapterGguf,
    adapterManifest,
    type CraftAdapterEdits,
    type CraftAdapterOptions,
    craftAdapter,
    type MutableGguf,
    sha256Hex,
    tinyBaseGguf,
    writeTinyBaseModel,
} from "../../craft/gguf";
import {type AdapterValidationCode, AdapterValidationError} from "../../engine/adapters/errors";
import {parseAdapterManifest} from "../../engine/adapters/manifest";
import {validateAdapter} from "../../engine/adapters/validate";
import {
    GgmlType,
    type GgufHeader,
    type GgufValue,
    ggufF32,
    ggufF64,
    ggufI32,
    ggufString,
    ggufStringArray,
    ggufU8,
    ggufU32,
    ggufU32Array,
    ggufU64,
    readGgufHeader,
    writeGguf,
} from "../../engine/gguf";
import {type BaseModelStructure, baseFingerprint, describeBaseModel} from "../../engine/model/fingerprint";

let root = "";
let base: BaseModelStructure;
let counter = 0;

before(async () => {
    root = await mkdtemp(join(tmpdir(), "adapter-validation-"));
    ({base} = await writeTinyBaseModel(join(root, "base.gguf")));
});
after(async () => {
    await rm(root, {recursive: true, force: true});
});

const freshDir = () => join(root, `adapter-${++counter}`);

/** Crafts an adapter with `edits` and asserts validation fails with `code` and a message matching `message`. */
async function assertRejected(
    code: AdapterValidationCode,
    message: RegExp,
    edits: CraftAdapterEdits = {},
    options: CraftAdapterOptions = {},
): Promise<AdapterValidationError> {
    const crafted = await craftAdapter(freshDir(), base, options, edits);
    return assertDirRejected(crafted.dir, code, message);
}

async function assertDirRejected(dir: string, code: AdapterValidationCode, message: RegExp) {
    let caught: unknown;
    await validateAdapter(dir, base).catch((error: unknown) => {
        caught = error;
    });
    assert.ok(
        caught instanceof AdapterValidationError,
        `expected AdapterValidationError ${code}, got ${String(caught)}`,
    );
    assert.equal(caught.code, code, caught.message);
    assert.match(caught.message, message);
    return caught;
}

function setMeta(gguf: MutableGguf, key: string, value: GgufValue | undefined) {
    const index = gguf.metadata.findIndex(([k]) => k === key);
    if (index >= 0) gguf.metadata.splice(index, 1);
    if (value !== undefined) gguf.metadata.push([key, value]);
}

function fillAll(gguf: MutableGguf, value: number): void {
    for (const tensor of gguf.tensors) tensor.data.fill(value);
}

function tensorNamed(gguf: MutableGguf, name: string) {
    const tensor = gguf.tensors.find((t) => t.name === name);
    assert.ok(tensor, `no tensor ${name}`);
    return tensor;
}

/** Replaces the adapter file's bytes and updates the manifest's sha256, so only the content is at fault. */
async function replaceFileKeepingHash(dir: string, edit: (bytes: Buffer) => Buffer | Promise<Buffer>) {
    const ggufPath = join(dir, "adapter.gguf");
    await writeFile(ggufPath, await edit(await readFile(ggufPath)));
    const manifestPath = join(dir, "manifest.json");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    manifest.sha256 = await sha256Hex(ggufPath);
    await writeFile(manifestPath, JSON.stringify(manifest));
}

test("a valid adapter passes and reports rank, alpha, modules and layers", async () => {
    const crafted = await craftAdapter(freshDir(), base, {task: "summarize+translate:fr"});
    const adapter = await validateAdapter(crafted.dir, base);
    assert.equal(adapter.rank, 16);
    assert.equal(adapter.alpha, 32);
    assert.deepEqual(adapter.layers, [0, 1, 2]);
    assert.deepEqual(adapter.targetModules, [
        "attn_q",
        "attn_k",
        "attn_v",
        "attn_output",
        "ffn_gate",
        "ffn_up",
        "ffn_down",
    ]);
    assert.equal(adapter.ggufPath, crafted.ggufPath);
    assert.equal(adapter.sha256, crafted.sha256);
    assert.equal(adapter.manifest.chainKey, "summarize+translate:fr");
    assert.deepEqual(adapter.manifest.task, {main: "summarize", aux: ["translate:fr"]});
    assert.deepEqual(adapter.warnings, []);
    assert.equal(adapter.header.tensors.length, 7 * 3 * 2);
});

test("F16 tensors, a subset of modules and layers, and a rank-8 adapter (with a warning) are valid", async () => {
    const f16 = await craftAdapter(freshDir(), base, {tensorType: "F16", modules: ["attn_v", "ffn_down"], layers: [1]});
    const adapter = await validateAdapter(f16.dir, base);
    assert.deepEqual(adapter.layers, [1]);
    assert.deepEqual(adapter.targetModules, ["attn_v", "ffn_down"]);

    const rank8 = await validateAdapter((await craftAdapter(freshDir(), base, {rank: 8, alpha: 8})).dir, base);
    assert.equal(rank8.rank, 8);
    assert.match(rank8.warnings[0] ?? "", /rank 8 is not a multiple of 16/);
});

test("token_embd takes llama.cpp's transposed layout: A {r, n_vocab}, B {r, n_embd}", async () => {
    const [nEmbd, nVocab] = base.tensors.get("token_embd.weight") ?? [];
    const crafted = await craftAdapter(freshDir(), base, {modules: ["token_embd", "attn_q"]});
    const gguf = await validateAdapter(crafted.dir, base);
    const a = gguf.header.tensors.find((t) => t.name === "token_embd.weight.lora_a");
    const b = gguf.header.tensors.find((t) => t.name === "token_embd.weight.lora_b");
    assert.deepEqual(a?.ne, [16, nVocab]);
    assert.deepEqual(b?.ne, [16, nEmbd]);

    // The ordinary {n_in, r} layout is what llama.cpp rejects for token_embd.
    await assertRejected(
        "shape-mismatch",
        /"token_embd\.weight\.lora_a" must be \{r, \d+\}/,
        {
            editGguf: (g) => {
                const tensor = tensorNamed(g, "token_embd.weight.lora_a");
                tensor.ne = [nEmbd ?? 0, 16];
                tensor.data = new Float32Array((nEmbd ?? 0) * 16);
            },
        },
        {modules: ["token_embd"]},
    );
});

test("manifest-missing: no manifest.json", async () => {
    const crafted = await craftAdapter(freshDir(), base);
    await unlink(crafted.manifestPath);
    await assertDirRejected(crafted.dir, "manifest-missing", /manifest\.json: cannot read the manifest \(ENOENT\)/);
});

test("manifest-unparseable: manifest.json is not JSON", async () => {
    const crafted = await craftAdapter(freshDir(), base);
    await writeFile(crafted.manifestPath, '{"formatVersion": 1,');
    await assertDirRejected(crafted.dir, "manifest-unparseable", /manifest\.json: not valid JSON/);
});

test("manifest-invalid: each bad field is named", async () => {
    const valid = adapterManifest(base, {}, "a".repeat(64));
    const cases: [string, unknown, RegExp][] = [
        ["formatVersion", 2, /"formatVersion" must be 1, got 2/],
        ["id", "Bad Id", /"id" must be lower-case letters, digits/],
        ["id", "a".repeat(300), /"id" is 300 characters long; an adapter id has at most 128/],
        ["id", undefined, /"id" must be a non-empty string, got nothing/],
        ["task", "summarise", /"task" is not a task chain: Unknown task "summarise"/],
        ["task", "translate:fr+summarize", /"task" is not a task chain: "summarize" is a main task/],
        ["promptTemplate", "no placeholder", /"promptTemplate" must contain \{input\} exactly once, found 0/],
        ["promptTemplate", "{input}{input}", /found 2/],
        ["stopStrings", ["ok", ""], /"stopStrings" must be an array of non-empty strings/],
        ["base", "gemma", /"base" must be an object/],
        ["base", {fingerprint: "abc", name: "x"}, /"base\.fingerprint" must be 64 lower-case hex/],
        ["base", {fingerprint: base.fingerprint}, /"base\.name" must be a non-empty string/],
        ["rank", 0, /"rank" must be a positive integer, got 0/],
        ["rank", 16.5, /"rank" must be a positive integer/],
        ["alpha", "32", /"alpha" must be a positive number, got "32"/],
        ["targetModules", [], /"targetModules" must be a non-empty array/],
        ["targetModules", ["q_proj"], /"targetModules" has unknown module "q_proj"/],
        ["targetModules", ["attn_q", "attn_q"], /"targetModules" lists "attn_q" twice/],
        ["file", "../adapter.gguf", /"file" must be a file name inside the adapter directory/],
        [
            "file",
            "adapter.gguf\u0000.txt",
            /"file" must be a plain file name; "adapter\.gguf\\u0000\.txt" has a control character \(U\+0000\)/,
        ],
        ["sha256", "ABC", /"sha256" must be 64 lower-case hex digits/],
        ["licence", 3, /"licence" must be a non-empty string/],
        ["training", [1], /"training" must be an object/],
        ["keptForCalibrations", "yes", /"keptForCalibrations" must be true or false, got "yes"/],
        ["targetModule", ["attn_q"], /"targetModule" is not part of formatVersion 1/],
    ];
    for (const [field, value, message] of cases) {
        const json: Record<string, unknown> = {...valid, [field]: value};
        if (value === undefined) delete json[field];
        assert.throws(
            () => parseAdapterManifest(json, "/packs/x/manifest.json"),
            (error: unknown) => {
                assert.ok(error instanceof AdapterValidationError, `${field}: ${String(error)}`);
                assert.equal(error.code, "manifest-invalid");
                assert.ok(error.field?.startsWith(field), error.field);
                assert.match(error.message, /^\/packs\/x\/manifest\.json: /);
                assert.match(error.message, message);
                return true;
            },
            `${field} = ${JSON.stringify(value)}`,
        );
    }
    assert.equal(parseAdapterManifest(valid, "m.json").keptForCalibrations, false, "absent: false");
    assert.equal(parseAdapterManifest({...valid, keptForCalibrations: true}, "m.json").keptForCalibrations, true);
    assert.throws(() => parseAdapterManifest([], "m.json"), {
        code: "manifest-invalid",
        message: /must be a JSON object/,
    });
    // Through validateAdapter too.
    await assertRejected("manifest-invalid", /manifest field "rank" must be a positive integer/, {
        manifest: {rank: -1},
    });
});

test("file-missing: the manifest names a file that does not exist", async () => {
    const crafted = await craftAdapter(freshDir(), base);
    await unlink(crafted.ggufPath);
    await assertDirRejected(crafted.dir, "file-missing", /adapter\.gguf: the adapter file named by .*does not exist/);
});

test("sha256-mismatch: the file is not the one the manifest describes", async () => {
    const error = await assertRejected("sha256-mismatch", /sha256 is [0-9a-f]{64} but the manifest says 0{64}/, {
        manifest: {sha256: "0".repeat(64)},
    });
    assert.match(error.message, /adapter\.gguf: /);
});

test("not-gguf: bad magic", async () => {
    const crafted = await craftAdapter(freshDir(), base);
    await replaceFileKeepingHash(crafted.dir, (bytes) => {
        bytes.write("PK\u0003\u0004", 0, "latin1");
        return bytes;
    });
    await assertDirRejected(crafted.dir, "not-gguf", /adapter\.gguf: not a GGUF file: bad magic/);
});

test("gguf-truncated: the file ends inside tensor data", async () => {
    const crafted = await craftAdapter(freshDir(), base);
    await replaceFileKeepingHash(crafted.dir, (bytes) => bytes.subarray(0, bytes.length - 100));
    await assertDirRejected(
        crafted.dir,
        "gguf-truncated",
        /adapter\.gguf: truncated: tensor "blk\.2\.ffn_down\.weight\.lora_b"/,
    );
});

test("gguf-invalid: an unsupported GGUF version", async () => {
    const crafted = await craftAdapter(freshDir(), base);
    await replaceFileKeepingHash(crafted.dir, (bytes) => {
        bytes.writeUInt32LE(1, 4);
        return bytes;
    });
    await assertDirRejected(crafted.dir, "gguf-invalid", /unsupported GGUF version 1/);
});

test('not-adapter: general.type is not "adapter"', async () => {
    await assertRejected("not-adapter", /general\.type is "model", expected "adapter"/, {
        editGguf: (g) => setMeta(g, "general.type", ggufString("model")),
    });
    await assertRejected("not-adapter", /general\.type is missing, expected "adapter"/, {
        editGguf: (g) => setMeta(g, "general.type", undefined),
    });
});

test('not-lora: adapter.type is not "lora"', async () => {
    await assertRejected("not-lora", /adapter\.type is "control_vector", expected "lora"/, {
        editGguf: (g) => setMeta(g, "adapter.type", ggufString("control_vector")),
    });
});

test("architecture-mismatch: the file is for another architecture", async () => {
    await assertRejected(
        "architecture-mismatch",
        /general\.architecture is "gemma3", but the base model "Tiny Test Llama" is "llama"/,
        {editGguf: (g) => setMeta(g, "general.architecture", ggufString("gemma3"))},
    );
});

test("fingerprint-mismatch: the manifest was made for another base", async () => {
    await assertRejected(
        "fingerprint-mismatch",
        new RegExp(
            `made for base "Other" \\(fingerprint f{12}…\\), but the base model .* has fingerprint ${base.fingerprint.slice(0, 12)}…`,
        ),
        {manifest: {base: {fingerprint: "f".repeat(64), name: "Other"}}},
    );
});

test("unknown-base-tensor: a LoRA pair for a tensor the base lacks", async () => {
    await assertRejected(
        "unknown-base-tensor",
        /tensor "blk\.7\.attn_q\.weight\.lora_a" adapts "blk\.7\.attn_q\.weight", which the base model .* does not have/,
        {
            editGguf: (g) => {
                for (const half of ["lora_a", "lora_b"]) {
                    const source = tensorNamed(g, `blk.0.attn_q.weight.${half}`);
                    g.tensors.push({...source, name: `blk.7.attn_q.weight.${half}`});
                }
            },
        },
    );
});

test("bad-tensor-suffix: a tensor that is not .lora_a/.lora_b (e.g. .bias)", async () => {
    await assertRejected("bad-tensor-suffix", /tensor "blk\.0\.attn_q\.bias" is not "<base tensor>\.lora_a"/, {
        editGguf: (g) => g.tensors.push({name: "blk.0.attn_q.bias", ne: [32], type: "F32", data: new Float32Array(32)}),
    });
});

test("missing-lora-pair: lora_a without lora_b and vice versa", async () => {
    await assertRejected(
        "missing-lora-pair",
        /"blk\.1\.ffn_up\.weight\.lora_a" has no "blk\.1\.ffn_up\.weight\.lora_b"/,
        {editGguf: (g) => g.tensors.splice(g.tensors.indexOf(tensorNamed(g, "blk.1.ffn_up.weight.lora_b")), 1)},
    );
    await assertRejected(
        "missing-lora-pair",
        /"blk\.2\.attn_k\.weight\.lora_b" has no "blk\.2\.attn_k\.weight\.lora_a"/,
        {editGguf: (g) => g.tensors.splice(g.tensors.indexOf(tensorNamed(g, "blk.2.attn_k.weight.lora_a")), 1)},
    );
});

test("shape-mismatch: transposed halves, wrong n_out, LoRA on a 1-D norm", async () => {
    // PEFT's lora_A is [r][n_in] = ne {n_in, r}; writing it as ne {r, n_in} is the classic mistake.
    await assertRejected(
        "shape-mismatch",
        /"blk\.0\.attn_q\.weight" has shape \{32, 32\}, so "blk\.0\.attn_q\.weight\.lora_a" must be \{32, r\} .*got \{16, 32\}/,
        {
            editGguf: (g) => {
                tensorNamed(g, "blk.0.attn_q.weight.lora_a").ne = [16, 32];
            },
        },
    );
    await assertRejected(
        "shape-mismatch",
        /"blk\.1\.attn_k\.weight" has shape \{32, 16\}.*"blk\.1\.attn_k\.weight\.lora_b" \{r, 16\}.*got \{32, 16\} and \{16, 32\}/,
        {
            editGguf: (g) => {
                const b = tensorNamed(g, "blk.1.attn_k.weight.lora_b");
                b.ne = [16, 32];
                b.data = new Float32Array(16 * 32);
            },
        },
    );
    await assertRejected("shape-mismatch", /"blk\.0\.attn_norm\.weight" has shape \{32\}; LoRA needs a 2-D weight/, {
        editGguf: (g) => {
            g.tensors.push({
                name: "blk.0.attn_norm.weight.lora_a",
                ne: [32, 16],
                type: "F32",
                data: new Float32Array(512),
            });
            g.tensors.push({
                name: "blk.0.attn_norm.weight.lora_b",
                ne: [16, 1],
                type: "F32",
                data: new Float32Array(16),
            });
        },
    });
});

test("rank-inconsistent: one pair with another rank", async () => {
    const rank8 = adapterGguf(base, {rank: 8, modules: ["ffn_down"], layers: [2]});
    await assertRejected(
        "rank-inconsistent",
        /"blk\.2\.ffn_down\.weight\.lora_a" has rank 8 but "blk\.0\.attn_q\.weight\.lora_a" has rank 16/,
        {
            editGguf: (g) => {
                g.tensors = g.tensors.filter((t) => !t.name.startsWith("blk.2.ffn_down."));
                g.tensors.push(...rank8.tensors);
            },
        },
    );
});

test("rank-mismatch: the file's rank is not the manifest's", async () => {
    await assertRejected("rank-mismatch", /the tensors have rank 16, but the manifest says rank 32/, {
        manifest: {rank: 32},
    });
});

test("alpha-mismatch: adapter.lora.alpha differs from the manifest or is missing", async () => {
    await assertRejected("alpha-mismatch", /adapter\.lora\.alpha is 32, but the manifest says alpha 16/, {
        manifest: {alpha: 16},
    });
    await assertRejected("alpha-mismatch", /adapter\.lora\.alpha is missing, but the manifest says alpha 32/, {
        editGguf: (g) => setMeta(g, "adapter.lora.alpha", undefined),
    });
    // float32 storage: 0.1 in the manifest matches fround(0.1) in the file.
    const crafted = await craftAdapter(freshDir(), base, {alpha: 0.1});
    assert.equal((await validateAdapter(crafted.dir, base)).alpha, Math.fround(0.1));
    await assertRejected("alpha-mismatch", /adapter\.lora\.alpha is 16/, {
        editGguf: (g) => setMeta(g, "adapter.lora.alpha", ggufF32(16)),
    });
});

test("target-modules-mismatch: the file adapts other modules than the manifest lists", async () => {
    await assertRejected(
        "target-modules-mismatch",
        /the file adapts attn_k, attn_output, attn_v, ffn_down, ffn_gate, ffn_up, which the manifest does not list/,
        {manifest: {targetModules: ["attn_q"]}},
    );
    await assertRejected(
        "target-modules-mismatch",
        /the manifest lists ffn_gate, which the file does not adapt/,
        {manifest: {targetModules: ["attn_q", "ffn_gate"]}},
        {modules: ["attn_q"]},
    );
});

test("tensor-type-unsupported: a quantized tensor", async () => {
    const crafted = await craftAdapter(freshDir(), base, {modules: ["attn_q"], layers: [0]});
    await replaceFileKeepingHash(crafted.dir, (bytes) => {
        // Re-type lora_a {32, 16} as Q8_0 (32 is a whole Q8_0 block: 16 rows of 34 bytes), and move
        // lora_b's offset to right after it, as a writer of such a file would have.
        const name = Buffer.from("blk.0.attn_q.weight.lora_a");
        const typeAt = bytes.indexOf(name) + name.length + 4 + 2 * 8;
        bytes.writeUInt32LE(GgmlType.Q8_0, typeAt);
        const nameB = Buffer.from("blk.0.attn_q.weight.lora_b");
        const offsetB = bytes.indexOf(nameB) + nameB.length + 4 + 2 * 8 + 4;
        bytes.writeBigUInt64LE(BigInt(Math.ceil((16 * 34) / 32) * 32), offsetB);
        return bytes;
    });
    await assertDirRejected(
        crafted.dir,
        "tensor-type-unsupported",
        /tensor "blk\.0\.attn_q\.weight\.lora_a" is Q8_0; adapter tensors must be F32 or F16/,
    );
});

test("non-finite-value: NaN in F32, Inf from F16 overflow", async () => {
    await assertRejected("non-finite-value", /tensor "blk\.1\.attn_v\.weight\.lora_b" holds NaN at index 5/, {
        editGguf: (g) => {
            tensorNamed(g, "blk.1.attn_v.weight.lora_b").data[5] = Number.NaN;
        },
    });
    await assertRejected(
        "non-finite-value",
        /tensor "blk\.0\.ffn_gate\.weight\.lora_a" holds Infinity at index 3/,
        {
            editGguf: (g) => {
                tensorNamed(g, "blk.0.ffn_gate.weight.lora_a").data[3] = 1e6; // above F16's 65504
            },
        },
        {tensorType: "F16"},
    );
});

test("metadata-type: every key llama.cpp reads has exactly the type it reads (else llama.cpp aborts)", async () => {
    const cases: [string, GgufValue, RegExp][] = [
        [
            "adapter.lora.alpha",
            ggufU64(32n),
            /"adapter\.lora\.alpha" is UINT64, but llama\.cpp reads it only as FLOAT32/,
        ],
        [
            "adapter.lora.alpha",
            ggufF64(32),
            /"adapter\.lora\.alpha" is FLOAT64, but llama\.cpp reads it only as FLOAT32/,
        ],
        ["adapter.lora.alpha", ggufI32(32), /"adapter\.lora\.alpha" is INT32/],
        ["general.type", ggufU32(1), /"general\.type" is UINT32, but llama\.cpp reads it only as STRING/],
        ["general.architecture", ggufStringArray(["llama"]), /"general\.architecture" is ARRAY of STRING/],
        ["adapter.type", ggufU8(1), /"adapter\.type" is UINT8/],
        [
            "adapter.alora.invocation_tokens",
            ggufU32Array([1, 2]),
            /activated LoRA \(aLoRA\), which the engine does not support/,
        ],
    ];
    for (const [key, value, message] of cases)
        await assertRejected("metadata-type", message, {editGguf: (g) => setMeta(g, key, value)});
});

test("value-out-of-range and too-strong: finite but extreme values are refused before llama.cpp sees them", async () => {
    // F16's largest value everywhere: finite, and llama.cpp then answers with empty text.
    await assertRejected(
        "value-out-of-range",
        /tensor "blk\.0\.attn_q\.weight\.lora_a" holds 65504 at index 0 .* values must lie within ±1000/,
        {editGguf: (g) => fillAll(g, 65504)},
        {tensorType: "F16"},
    );
    await assertRejected("value-out-of-range", /holds 3\.4028234663852886e\+38 at index 7/, {
        editGguf: (g) => {
            tensorNamed(g, "blk.2.ffn_down.weight.lora_b").data[7] = 3.4028234663852886e38; // FLT_MAX
        },
    });
    // Every value small, the pair still huge: (32 / 16) * ‖A‖ * ‖B‖ = 2 * 0.5√512 * 0.5√512 = 256 (A {32, 16}, B {16, 32}).
    await assertRejected(
        "too-strong",
        /the LoRA pair for "blk\.0\.attn_q\.weight" has strength \(alpha \/ r\) \* ‖A‖ \* ‖B‖ = 256, above the limit 100/,
        {editGguf: (g) => fillAll(g, 0.5)},
        {modules: ["attn_q"]},
    );
    // Below the limits: accepted (0.2 everywhere gives strength 2 * 0.2√512 * 0.2√512 ≈ 41).
    const atLimit = await craftAdapter(
        freshDir(),
        base,
        {modules: ["attn_q"]},
        {
            editGguf: (g) => fillAll(g, 0.2),
        },
    );
    await validateAdapter(atLimit.dir, base);
});

test("a manifest with a UTF-8 byte order mark is read, and ids longer than 128 characters are refused", async () => {
    const crafted = await craftAdapter(freshDir(), base);
    await writeFile(crafted.manifestPath, `\ufeff${await readFile(crafted.manifestPath, "utf8")}`);
    assert.equal((await validateAdapter(crafted.dir, base)).manifest.id, crafted.manifest.id);
    await assertRejected(
        "manifest-invalid",
        /"id" is 255 characters long; an adapter id has at most 128, got "a{80}…" \(255 characters\)/,
        {
            manifest: {id: "a".repeat(255)},
        },
    );
});

test("fingerprint-mismatch messages show enough of both hashes to tell them apart", async () => {
    const nearly = `${base.fingerprint.slice(0, 40)}${base.fingerprint[40] === "0" ? "1" : "0"}${base.fingerprint.slice(41)}`;
    const error = await assertRejected("fingerprint-mismatch", /fingerprint/, {
        manifest: {base: {fingerprint: nearly, name: "Almost"}},
    });
    const shown = [...error.message.matchAll(/fingerprint ([0-9a-f]+)…/g)].map((m) => m[1] ?? "");
    assert.equal(shown.length, 2, error.message);
    assert.notEqual(shown[0], shown[1], error.message);
    assert.equal(shown[0]?.length, 44, "four digits past the first difference (at digit 41)");
});

test("an empty directory is manifest-missing, not a crash", async () => {
    const dir = freshDir();
    await mkdir(dir);
    await assertDirRejected(dir, "manifest-missing", /cannot read the manifest/);
});

// ---- The base fingerprint adapters are bound to (docs/formats.md section 1) ----

test("baseFingerprint matches the spec formula (value computed independently in Python)", () => {
    const header: GgufHeader = {
        filePath: "/virtual.gguf",
        version: 3,
        metadata: new Map([
            ["general.architecture", ggufString("llama")],
            ["tokenizer.ggml.tokens", ggufStringArray(["<s>", "a", "ü", "😀"])],
        ]),
        // U+FF5E sorts before U+1F600 by code point, after it by UTF-16 unit: the spec wants code points.
        tensors: [
            ["b.weight", [2, 3]],
            ["a.weight", [4]],
            ["Z", [1]],
            ["\u{1F600}", [5]],
            ["\uFF5E", [6]],
        ].map(([name, ne]) => ({name: name as string, ne: ne as number[], type: 0, offset: 0, byteLength: 0})),
        alignment: 32,
        dataOffset: 0,
        fileSize: 0,
    };
    assert.equal(baseFingerprint(header), "ba5e5f1dd0b629f55f90d3d45b3e92def856d1bc18fc659fc4912c84e8da9f21");
});

test("the fingerprint ignores tensor types and values (re-quantizing) but not vocabulary or shapes", async () => {
    const at = async (name: string, gguf: ReturnType<typeof tinyBaseGguf>) => {
        await writeGguf(join(root, name), gguf);
        return describeBaseModel(await readGgufHeader(join(root, name)));
    };
    const f16 = await at("fp-f16.gguf", tinyBaseGguf({tensorType: "F16", seed: 99}));
    assert.equal(f16.fingerprint, base.fingerprint);
    assert.equal(f16.name, "Tiny Test Llama");
    const otherVocab = await at("fp-vocab.gguf", tinyBaseGguf({tokens: ["<unk>", "<s>", "</s>", "x"]}));
    assert.notEqual(otherVocab.fingerprint, base.fingerprint);
    const otherShape = await at("fp-shape.gguf", tinyBaseGguf({nFf: 64}));
    assert.notEqual(otherShape.fingerprint, base.fingerprint);
    const noTokens = tinyBaseGguf();
    noTokens.metadata = noTokens.metadata.filter(([key]) => key !== "tokenizer.ggml.tokens");
    await writeGguf(join(root, "fp-none.gguf"), noTokens);
    const header = await readGgufHeader(join(root, "fp-none.gguf"));
    assert.throws(() => baseFingerprint(header), {
        name: "GgufFormatError",
        message: /"tokenizer\.ggml\.tokens" is missing/,
    });
});
