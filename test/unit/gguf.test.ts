import assert from "node:assert/strict";
import {mkdtemp, readdir, readFile, rm, truncate, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {
    f16BitsToF32,
    f32ToF16Bits,
    GgmlType,
    GgufFormatError,
    GgufTensorFile,
    type GgufTensorInfo,
    type GgufToWrite,
    type GgufValue,
    GgufValueType,
    ggmlTypeName,
    ggufArray,
    ggufBool,
    ggufF32,
    ggufF32Array,
    ggufF64,
    ggufI8,
    ggufI16,
    ggufI32,
    ggufI64,
    ggufString,
    ggufStringArray,
    ggufU8,
    ggufU16,
    ggufU32,
    ggufU64,
    metaNumber,
    metaNumberArray,
    metaOptionalNumber,
    metaOptionalString,
    metaString,
    metaStringArray,
    readGgufHeader,
    readTensorF32,
    writeGguf,
    writeGgufStreamed,
} from "../../engine/gguf";

let dir = "";
before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gguf-test-"));
});
after(async () => {
    await rm(dir, {recursive: true, force: true});
});

const ALL_VALUES: [string, GgufValue][] = [
    ["t.u8", ggufU8(255)],
    ["t.i8", ggufI8(-128)],
    ["t.u16", ggufU16(65535)],
    ["t.i16", ggufI16(-32768)],
    ["t.u32", ggufU32(4294967295)],
    ["t.i32", ggufI32(-2147483648)],
    ["t.f32", ggufF32(Math.fround(0.1))],
    ["t.bool.true", ggufBool(true)],
    ["t.bool.false", ggufBool(false)],
    ["t.string", ggufString("héllo ✓ \u0000 𝄞")],
    ["t.string.empty", ggufString("")],
    ["t.u64", ggufU64(18446744073709551615n)],
    ["t.i64", ggufI64(-9223372036854775808n)],
    ["t.f64", ggufF64(Math.PI)],
    ["t.array.u8", ggufArray(GgufValueType.UINT8, [0, 1, 255])],
    ["t.array.i8", ggufArray(GgufValueType.INT8, [-128, 0, 127])],
    ["t.array.u16", ggufArray(GgufValueType.UINT16, [0, 65535])],
    ["t.array.i16", ggufArray(GgufValueType.INT16, [-32768, 32767])],
    ["t.array.u32", ggufArray(GgufValueType.UINT32, [0, 4294967295])],
    ["t.array.i32", ggufArray(GgufValueType.INT32, [-2147483648, 2147483647])],
    ["t.array.f32", ggufF32Array([0.5, -2, Math.fround(1 / 3)])],
    ["t.array.bool", ggufArray(GgufValueType.BOOL, [true, false, true])],
    ["t.array.string", ggufStringArray(["a", "", "ü", "<end_of_turn>"])],
    ["t.array.u64", ggufArray(GgufValueType.UINT64, [0n, 18446744073709551615n])],
    ["t.array.i64", ggufArray(GgufValueType.INT64, [-9223372036854775808n, 7n])],
    ["t.array.f64", ggufArray(GgufValueType.FLOAT64, [Math.E, -0.1])],
    ["t.array.empty", ggufStringArray([])],
];

async function writeAndRead(name: string, gguf: GgufToWrite) {
    const filePath = join(dir, name);
    await writeGguf(filePath, gguf);
    return readGgufHeader(filePath);
}

/** Absolute offset of a tensor info's fields, found by its name in the header bytes. */
function tensorInfoOffsets(bytes: Buffer, name: string, nDims: number) {
    const nameStart = bytes.indexOf(Buffer.from(name, "utf8"));
    assert.ok(nameStart > 0, `tensor info "${name}" not found`);
    const nDimsAt = nameStart + Buffer.byteLength(name);
    return {nDimsAt, neAt: nDimsAt + 4, typeAt: nDimsAt + 4 + 8 * nDims};
}

test("every metadata value type round-trips, in order, with its exact type", async () => {
    const h = await writeAndRead("values.gguf", {metadata: ALL_VALUES, tensors: []});
    assert.equal(h.version, 3);
    assert.deepEqual(
        [...h.metadata.keys()],
        ALL_VALUES.map(([key]) => key),
    );
    for (const [key, value] of ALL_VALUES) assert.deepEqual(h.metadata.get(key), value, key);
    assert.equal(h.tensors.length, 0);
    assert.equal(h.alignment, 32);
    assert.equal(h.dataOffset % 32, 0);
});

test("typed metadata accessors convert numbers and name the key on errors", async () => {
    const h = await writeAndRead("accessors.gguf", {metadata: ALL_VALUES, tensors: []});
    assert.equal(metaString(h, "t.string"), "héllo ✓ \u0000 𝄞");
    assert.equal(metaOptionalString(h, "missing"), undefined);
    assert.equal(metaNumber(h, "t.u32"), 4294967295);
    assert.equal(metaNumber(h, "t.i8"), -128);
    assert.equal(metaNumber(h, "t.f64"), Math.PI);
    assert.equal(metaOptionalNumber(h, "missing"), undefined);
    assert.deepEqual(metaStringArray(h, "t.array.string"), ["a", "", "ü", "<end_of_turn>"]);
    assert.deepEqual(metaNumberArray(h, "t.array.u16"), [0, 65535]);
    assert.throws(() => metaNumberArray(h, "t.array.i64"), /"t\.array\.i64" is -9223372036854775808, too large/);
    assert.deepEqual(metaNumberArray(h, "t.array.f32"), [0.5, -2, Math.fround(1 / 3)]);

    assert.throws(() => metaString(h, "nope"), {name: "GgufFormatError", message: /"nope" is missing/});
    assert.throws(() => metaString(h, "t.u32"), /"t\.u32" is UINT32, expected STRING/);
    assert.throws(() => metaNumber(h, "t.string"), /"t\.string" is STRING, expected a number/);
    assert.throws(() => metaNumber(h, "t.u64"), /too large for a JS number/);
    assert.throws(() => metaStringArray(h, "t.array.u8"), /ARRAY of UINT8, expected ARRAY of STRING/);
    assert.throws(() => metaNumberArray(h, "t.array.string"), /ARRAY of STRING, expected an ARRAY of numbers/);
    assert.throws(
        () => metaString(h, "nope"),
        (error: unknown) => {
            assert.ok(error instanceof GgufFormatError);
            assert.equal(error.problem, "metadata");
            assert.ok(error.message.includes(join(dir, "accessors.gguf")), "message names the file");
            return true;
        },
    );
});

test("F32 and F16 tensors keep ne order (innermost first), 32-byte alignment and values", async () => {
    // PyTorch [rows=2][cols=3] -> ne {3, 2}; row-major data.
    const matrix = new Float32Array([1, 2, 3, 4, 5, 6]);
    const odd = new Float32Array([0.1, -0.2, 0.3]); // 12 bytes: forces padding before the next tensor
    const halfValues = new Float32Array([0.5, -1, 65504, 2 ** -24, 0.1, 1 / 3]);
    const cube = Float32Array.from({length: 2 * 3 * 4 * 5}, (_, i) => i - 60);
    const h = await writeAndRead("tensors.gguf", {
        metadata: [["general.architecture", ggufString("llama")]],
        tensors: [
            {name: "m", ne: [3, 2], type: "F32", data: matrix},
            {name: "odd", ne: [3], type: "F32", data: odd},
            {name: "half", ne: [2, 3], type: "F16", data: halfValues},
            {name: "cube", ne: [2, 3, 4, 5], type: "F16", data: cube},
        ],
    });
    assert.deepEqual(
        h.tensors.map((t) => [t.name, t.ne, ggmlTypeName(t.type), t.byteLength]),
        [
            ["m", [3, 2], "F32", 24],
            ["odd", [3], "F32", 12],
            ["half", [2, 3], "F16", 12],
            ["cube", [2, 3, 4, 5], "F16", 240],
        ],
    );
    assert.equal(h.dataOffset % 32, 0);
    for (const tensor of h.tensors) assert.equal(tensor.offset % 32, 0, `${tensor.name} offset aligned`);
    assert.deepEqual(
        h.tensors.map((t) => t.offset),
        [0, 32, 64, 96],
    );
    assert.equal(h.fileSize, h.dataOffset + 96 + 256, "the last tensor is padded too, like gguf-py does");

    assert.deepEqual(await readTensorF32(h, "m"), matrix);
    assert.deepEqual(await readTensorF32(h, "odd"), odd);
    const half = await readTensorF32(h, "half");
    assert.deepEqual(
        [...half],
        [0.5, -1, 65504, 2 ** -24, f16BitsToF32(f32ToF16Bits(0.1)), f16BitsToF32(f32ToF16Bits(1 / 3))],
    );
    assert.ok(Math.abs((half[4] ?? 0) - 0.1) < 1e-4);
    assert.deepEqual(await readTensorF32(h, "cube"), cube); // small integers are exact in F16
    await assert.rejects(readTensorF32(h, "nope"), {name: "GgufFormatError", message: /no tensor named "nope"/});
});

test("BF16 tensors are read as F32; quantized ones are refused by name", async () => {
    const filePath = join(dir, "bf16.gguf");
    await writeGguf(filePath, {
        metadata: [],
        tensors: [
            {name: "as.bf16", ne: [2], type: "F32", data: new Float32Array([1, -2.5])},
            {name: "as.q8_0", ne: [32], type: "F32", data: new Float32Array(32)},
        ],
    });
    const bytes = await readFile(filePath);
    // Re-type "as.bf16" as BF16 {4}: same 8 bytes, read as four bf16 halves (little-endian).
    const bf = tensorInfoOffsets(bytes, "as.bf16", 1);
    bytes.writeBigUInt64LE(4n, bf.neAt);
    bytes.writeUInt32LE(GgmlType.BF16, bf.typeAt);
    const q = tensorInfoOffsets(bytes, "as.q8_0", 1);
    bytes.writeUInt32LE(GgmlType.Q8_0, q.typeAt);
    await writeFile(filePath, bytes);

    const h = await readGgufHeader(filePath);
    assert.equal(h.tensors[1]?.byteLength, 34);
    assert.deepEqual([...(await readTensorF32(h, "as.bf16"))], [0, 1, 0, -2.5]);
    await assert.rejects(readTensorF32(h, "as.q8_0"), {
        name: "GgufFormatError",
        message: /tensor "as\.q8_0" is Q8_0; only F32, F16 and BF16/,
    });
});

test("F16 conversion rounds to nearest even and round-trips every half value", () => {
    assert.equal(f32ToF16Bits(1), 0x3c00);
    assert.equal(f32ToF16Bits(-0), 0x8000);
    assert.equal(f32ToF16Bits(65504), 0x7bff);
    assert.equal(f32ToF16Bits(65520), 0x7c00); // rounds up to Inf
    assert.equal(f32ToF16Bits(Number.POSITIVE_INFINITY), 0x7c00);
    assert.equal(f32ToF16Bits(Number.NEGATIVE_INFINITY), 0xfc00);
    assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(Number.NaN))));
    assert.equal(f32ToF16Bits(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(f32ToF16Bits(2 ** -25), 0x0000); // tie -> even (zero)
    assert.equal(f32ToF16Bits(1.5 * 2 ** -25), 0x0001);
    assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie -> even
    assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
    for (let bits = 0; bits < 65536; bits++) {
        const value = f16BitsToF32(bits);
        if (Number.isNaN(value)) continue;
        assert.equal(f32ToF16Bits(value), bits, `half 0x${bits.toString(16)}`);
    }
});

test("a truncated file is refused, naming the tensor whose data is missing", async () => {
    const filePath = join(dir, "truncated.gguf");
    await writeGguf(filePath, {
        metadata: [["general.name", ggufString("x")]],
        tensors: [
            {name: "first", ne: [8], type: "F32", data: new Float32Array(8)},
            {name: "last.weight", ne: [4, 4], type: "F32", data: new Float32Array(16)},
        ],
    });
    const full = await readGgufHeader(filePath);
    await truncate(filePath, full.fileSize - 1);
    await assert.rejects(readGgufHeader(filePath), (error: unknown) => {
        assert.ok(error instanceof GgufFormatError);
        assert.equal(error.problem, "truncated");
        assert.match(error.message, /truncated: tensor "last\.weight" \(F32 \{4, 4\}\)/);
        assert.ok(error.message.startsWith(filePath));
        return true;
    });
    // Cut inside the metadata: the reader says what it was reading.
    await truncate(filePath, 40);
    await assert.rejects(readGgufHeader(filePath), {
        name: "GgufFormatError",
        message: /truncated: .*(metadata|general\.name)/,
    });
});

test("bad magic, too-short files and unsupported versions are refused", async () => {
    const filePath = join(dir, "magic.gguf");
    await writeGguf(filePath, {metadata: [["general.name", ggufString("x")]], tensors: []});
    const good = await readFile(filePath);

    const badMagic = Buffer.from(good);
    badMagic.write("GGML", 0, "latin1");
    await writeFile(filePath, badMagic);
    await assert.rejects(readGgufHeader(filePath), (error: unknown) => {
        assert.ok(error instanceof GgufFormatError);
        assert.equal(error.problem, "not-gguf");
        assert.match(error.message, /not a GGUF file: bad magic "GGML"/);
        return true;
    });

    await writeFile(filePath, "GG");
    await assert.rejects(readGgufHeader(filePath), {message: /not a GGUF file: only 2 bytes long/});

    for (const version of [1, 4, 99]) {
        const badVersion = Buffer.from(good);
        badVersion.writeUInt32LE(version, 4);
        await writeFile(filePath, badVersion);
        await assert.rejects(readGgufHeader(filePath), (error: unknown) => {
            assert.ok(error instanceof GgufFormatError);
            assert.equal(error.problem, "unsupported-version");
            assert.match(error.message, new RegExp(`unsupported GGUF version ${version}, expected 2 or 3`));
            return true;
        });
    }
    const bigEndian = Buffer.from(good);
    bigEndian.writeUInt32BE(3, 4);
    await writeFile(filePath, bigEndian);
    await assert.rejects(readGgufHeader(filePath), {message: /big-endian/});
});

test("absurd counts in a corrupt header fail fast instead of allocating", async () => {
    const filePath = join(dir, "counts.gguf");
    await writeGguf(filePath, {metadata: [["a", ggufStringArray(["x", "y"])]], tensors: []});
    const bytes = await readFile(filePath);
    const corrupt = Buffer.from(bytes);
    corrupt.writeBigUInt64LE(1n << 40n, 16); // metadata count
    await writeFile(filePath, corrupt);
    await assert.rejects(readGgufHeader(filePath), {problem: "truncated"});

    const hugeArray = Buffer.from(bytes);
    const countAt = bytes.indexOf(Buffer.from("a")) + 1 + 4 + 4; // key, value type, item type
    hugeArray.writeBigUInt64LE(1n << 40n, countAt);
    await writeFile(filePath, hugeArray);
    await assert.rejects(readGgufHeader(filePath), {message: /"a" claims 1099511627776 items/});
});

test("the writer refuses inconsistent input and leaves no temp file behind", async () => {
    const sub = await mkdtemp(join(dir, "writer-"));
    const target = join(sub, "out.gguf");
    const tensor = {name: "t", ne: [2, 2], type: "F32" as const, data: new Float32Array(4)};
    await assert.rejects(writeGguf(target, {metadata: [], tensors: [{...tensor, data: new Float32Array(3)}]}), {
        message: /"t": 3 values for shape \{2, 2\} \(4 expected\)/,
    });
    await assert.rejects(writeGguf(target, {metadata: [], tensors: [tensor, tensor]}), /"t" given twice/);
    await assert.rejects(writeGguf(target, {metadata: [["k", ggufU8(256)]], tensors: []}), /"k".*not a valid UINT8/);
    await assert.rejects(writeGguf(target, {metadata: [["k", ggufI32(1.5)]], tensors: []}), /"k".*not a valid INT32/);
    await assert.rejects(
        writeGguf(target, {metadata: [["general.alignment", ggufU32(64)]], tensors: []}),
        /general\.alignment/,
    );
    await assert.rejects(
        writeGguf(target, {
            metadata: [
                ["a", ggufBool(true)],
                ["a", ggufBool(false)],
            ],
            tensors: [],
        }),
        /"a" given twice/,
    );
    assert.deepEqual(await readdir(sub), []);

    await writeGguf(target, {metadata: [], tensors: [tensor]});
    await writeGguf(target, {metadata: [["v", ggufU32(2)]], tensors: [tensor]}); // replaces atomically
    assert.deepEqual(await readdir(sub), ["out.gguf"]);
    assert.equal(metaNumber(await readGgufHeader(target), "v"), 2);
});

/** The u64 data-offset field of a tensor info (after name, n_dims, ne and type). */
function offsetFieldAt(bytes: Buffer, name: string, nDims: number): number {
    return tensorInfoOffsets(bytes, name, nDims).typeAt + 4;
}

test("tensor data must be in tensor order, back to back and padded, as ggml requires", async () => {
    const filePath = join(dir, "layout.gguf");
    await writeGguf(filePath, {
        metadata: [["general.name", ggufString("x")]],
        tensors: [
            {name: "tensor_a", ne: [16], type: "F32", data: new Float32Array(16)},
            {name: "tensor_b", ne: [8], type: "F32", data: new Float32Array(8)},
            {name: "tensor_c", ne: [16], type: "F16", data: new Float32Array(16)},
        ],
    });
    const good = await readFile(filePath);
    assert.deepEqual(
        (await readGgufHeader(filePath)).tensors.map((t) => t.offset),
        [0, 64, 96],
    );
    const cases: [string, (bytes: Buffer) => void, RegExp][] = [
        [
            "swapped",
            (bytes) => {
                bytes.writeBigUInt64LE(64n, offsetFieldAt(bytes, "tensor_a", 1));
                bytes.writeBigUInt64LE(0n, offsetFieldAt(bytes, "tensor_b", 1));
            },
            /tensor "tensor_a" has data offset 64, expected 0: tensor data must follow the tensor list's order/,
        ],
        [
            "shared",
            (bytes) => bytes.writeBigUInt64LE(0n, offsetFieldAt(bytes, "tensor_b", 1)),
            /"tensor_b" has data offset 0, expected 64/,
        ],
        [
            "gap",
            (bytes) => bytes.writeBigUInt64LE(96n, offsetFieldAt(bytes, "tensor_b", 1)),
            /"tensor_b" has data offset 96, expected 64/,
        ],
        [
            // F16 re-typed as F32 doubles its size, so its data no longer fits where the file ends.
            "F16 -> F32 (last tensor)",
            (bytes) => bytes.writeUInt32LE(GgmlType.F32, tensorInfoOffsets(bytes, "tensor_c", 1).typeAt),
            /truncated: tensor "tensor_c" \(F32 \{16\}\)/,
        ],
        [
            // ...and an earlier one moves every later tensor.
            "F32 -> F16 (first tensor)",
            (bytes) => bytes.writeUInt32LE(GgmlType.F16, tensorInfoOffsets(bytes, "tensor_a", 1).typeAt),
            /"tensor_b" has data offset 64, expected 32/,
        ],
    ];
    for (const [label, corrupt, message] of cases) {
        const bytes = Buffer.from(good);
        corrupt(bytes);
        await writeFile(filePath, bytes);
        await assert.rejects(readGgufHeader(filePath), {name: "GgufFormatError", message}, label);
    }
});

test("empty metadata keys and tensor names longer than ggml's 63 bytes are refused", async () => {
    const filePath = join(dir, "names.gguf");
    await writeGguf(filePath, {metadata: [["k", ggufString("x")]], tensors: []});
    const withKey = await readFile(filePath);
    // Key #0 starts at byte 24 (magic, version, two counts): make it "" by dropping its one byte.
    const emptyLength = Buffer.alloc(8);
    await writeFile(filePath, Buffer.concat([withKey.subarray(0, 24), emptyLength, withKey.subarray(33)]));
    await assert.rejects(readGgufHeader(filePath), {problem: "invalid", message: /metadata key #0 is empty/});

    const name63 = "n".repeat(63);
    await writeGguf(filePath, {
        metadata: [],
        tensors: [{name: name63, ne: [1], type: "F32", data: new Float32Array(1)}],
    });
    assert.equal((await readGgufHeader(filePath)).tensors[0]?.name, name63);
    await writeGguf(filePath, {
        metadata: [],
        tensors: [{name: `${name63}x`, ne: [1], type: "F32", data: new Float32Array(1)}],
    });
    await assert.rejects(readGgufHeader(filePath), {
        message: /the name of tensor #0 is 64 bytes long; ggml allows at most 63/,
    });
});

test("a corrupt name length never puts megabytes of binary into the message", async () => {
    const filePath = join(dir, "binary-name.gguf");
    // A key whose length field was flipped to swallow 3 MB of tensor data, after which the value
    // type read is 99 (the data's every u32), so the message quotes the 3 MB "key".
    const data = new Float32Array(new Uint32Array(1 << 20).fill(99).buffer);
    await writeGguf(filePath, {
        metadata: [["key", ggufString("v")]],
        tensors: [{name: "big", ne: [1 << 20], type: "F32", data}],
    });
    const bytes = await readFile(filePath);
    bytes.writeBigUInt64LE(3_000_000n, 24); // the length of metadata key #0
    await writeFile(filePath, bytes);
    await assert.rejects(readGgufHeader(filePath), (error: unknown) => {
        assert.ok(error instanceof GgufFormatError);
        assert.ok(error.message.length < 1000, `${error.message.length} characters`);
        assert.ok(!error.message.includes("\u0000"), "no raw NUL in the message");
        assert.match(
            error.message,
            /^.*: metadata "key\\u0008\\u0000.*…" \(3000000 characters\) has unknown value type 99$/,
        );
        return true;
    });
});

test("a streamed tensor of any type round-trips raw; too little or too much data is refused and the file removed", async () => {
    const filePath = join(dir, "streamed.gguf");
    const q8 = new Uint8Array(34 * 4).map((_, i) => (i * 37) & 0xff);
    const tensor = (pieces: Uint8Array[]) => ({
        name: "w",
        ne: [64, 2],
        type: GgmlType.Q8_0,
        byteLength: 34 * 4,
        async *data() {
            yield* pieces;
        },
    });
    await writeGgufStreamed(
        filePath,
        [["general.architecture", ggufString("llama")]],
        [tensor([q8.subarray(0, 50), q8.subarray(50)])],
    );
    const header = await readGgufHeader(filePath);
    const file = await GgufTensorFile.open(header);
    try {
        assert.deepEqual(await file.readRaw(header.tensors[0] as GgufTensorInfo), q8);
        assert.deepEqual(await file.readRaw(header.tensors[0] as GgufTensorInfo, 34, 34), q8.subarray(34, 68));
    } finally {
        await file.close();
    }
    await rm(filePath);
    await assert.rejects(
        writeGgufStreamed(filePath, [], [tensor([q8.subarray(1)])]),
        /135 bytes of data, expected 136/,
    );
    await assert.rejects(readFile(filePath), {code: "ENOENT"});
    await assert.rejects(writeGgufStreamed(filePath, [], [tensor([q8, q8])]), /more data than its 136 bytes/);
    await assert.rejects(readFile(filePath), {code: "ENOENT"});
    await assert.rejects(
        writeGgufStreamed(filePath, [], [{...tensor([q8]), byteLength: 100}]),
        /100 bytes, but Q8_0 \{64, 2\} takes 136/,
    );
});
