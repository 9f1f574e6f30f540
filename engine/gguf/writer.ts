// GGUF v3 writer: `writeGguf` for F32/F16 tensors held in memory (adapters, calibrations, test
// models), written to a temp file in the target directory and renamed, so a reader (llama.cpp
// included) never sees a half-written file; `writeGgufStreamed` for tensors of any type that
// arrive in pieces (a derived base model). No npm library writes tensors, hence this.

import {randomBytes} from "node:crypto";
import {open, rename, unlink} from "node:fs/promises";
import {endianness} from "node:os";
import {basename, dirname, join} from "node:path";
import {f32ArrayToF16} from "./half";
import {
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    GGUF_VERSION,
    GgmlType,
    type GgufNumberValueType,
    type GgufScalar,
    type GgufValue,
    GgufValueType,
    ggmlTensorByteLength,
    ggmlTypeName,
    ggufValueTypeName,
} from "./types";

export interface GgufTensorToWrite {
    name: string;
    /** Innermost first: PyTorch `[rows][cols]` is `{cols, rows}`. */
    ne: readonly number[];
    type: "F32" | "F16";
    /** product(ne) values, innermost dimension fastest (PyTorch row-major order). */
    data: Float32Array;
}

export interface GgufToWrite {
    metadata: ReadonlyArray<readonly [string, GgufValue]>;
    tensors: readonly GgufTensorToWrite[];
}

const ALIGNMENT = GGUF_DEFAULT_ALIGNMENT;

// ---- Value constructors -----------------------------------------------------------------

export const ggufString = (value: string): GgufValue => ({type: GgufValueType.STRING, value});
export const ggufBool = (value: boolean): GgufValue => ({type: GgufValueType.BOOL, value});
export const ggufU8 = (value: number): GgufValue => ({type: GgufValueType.UINT8, value});
export const ggufI8 = (value: number): GgufValue => ({type: GgufValueType.INT8, value});
export const ggufU16 = (value: number): GgufValue => ({type: GgufValueType.UINT16, value});
export const ggufI16 = (value: number): GgufValue => ({type: GgufValueType.INT16, value});
export const ggufU32 = (value: number): GgufValue => ({type: GgufValueType.UINT32, value});
export const ggufI32 = (value: number): GgufValue => ({type: GgufValueType.INT32, value});
export const ggufF32 = (value: number): GgufValue => ({type: GgufValueType.FLOAT32, value});
export const ggufF64 = (value: number): GgufValue => ({type: GgufValueType.FLOAT64, value});
export const ggufU64 = (value: bigint | number): GgufValue => ({type: GgufValueType.UINT64, value: BigInt(value)});
export const ggufI64 = (value: bigint | number): GgufValue => ({type: GgufValueType.INT64, value: BigInt(value)});
export const ggufArray = (itemType: GgufValueType, value: readonly GgufScalar[]): GgufValue => ({
    type: GgufValueType.ARRAY,
    itemType,
    value,
});
export const ggufStringArray = (value: readonly string[]): GgufValue => ggufArray(GgufValueType.STRING, value);
export const ggufF32Array = (value: ArrayLike<number>): GgufValue =>
    ggufArray(GgufValueType.FLOAT32, Array.from(value));
export const ggufI32Array = (value: ArrayLike<number>): GgufValue => ggufArray(GgufValueType.INT32, Array.from(value));
export const ggufU32Array = (value: ArrayLike<number>): GgufValue => ggufArray(GgufValueType.UINT32, Array.from(value));

// ---- Encoding ---------------------------------------------------------------------------

/** Appends little-endian values to growing chunks. */
class ByteSink {
    private readonly chunks: Buffer[] = [];
    private current = Buffer.alloc(64 * 1024);
    private used = 0;
    private flushed = 0;

    get length(): number {
        return this.flushed + this.used;
    }

    private room(n: number): Buffer {
        if (this.current.length - this.used < n) {
            this.chunks.push(this.current.subarray(0, this.used));
            this.flushed += this.used;
            this.current = Buffer.alloc(Math.max(n, 64 * 1024));
            this.used = 0;
        }
        return this.current;
    }

    bytes(source: Uint8Array): void {
        this.room(source.length).set(source, this.used);
        this.used += source.length;
    }
    u8(v: number): void {
        this.used = this.room(1).writeUInt8(v, this.used);
    }
    i8(v: number): void {
        this.used = this.room(1).writeInt8(v, this.used);
    }
    u16(v: number): void {
        this.used = this.room(2).writeUInt16LE(v, this.used);
    }
    i16(v: number): void {
        this.used = this.room(2).writeInt16LE(v, this.used);
    }
    u32(v: number): void {
        this.used = this.room(4).writeUInt32LE(v, this.used);
    }
    i32(v: number): void {
        this.used = this.room(4).writeInt32LE(v, this.used);
    }
    f32(v: number): void {
        this.used = this.room(4).writeFloatLE(v, this.used);
    }
    f64(v: number): void {
        this.used = this.room(8).writeDoubleLE(v, this.used);
    }
    u64(v: bigint): void {
        this.used = this.room(8).writeBigUInt64LE(v, this.used);
    }
    i64(v: bigint): void {
        this.used = this.room(8).writeBigInt64LE(v, this.used);
    }
    string(v: string): void {
        const utf8 = Buffer.from(v, "utf8");
        this.u64(BigInt(utf8.length));
        this.bytes(utf8);
    }
    padTo(alignment: number): void {
        const padding = (alignment - (this.length % alignment)) % alignment;
        this.bytes(new Uint8Array(padding));
    }
    toBuffer(): Buffer {
        return Buffer.concat([...this.chunks, this.current.subarray(0, this.used)]);
    }
}

const INTEGER_RANGES: Partial<Record<GgufNumberValueType, readonly [number, number]>> = {
    [GgufValueType.UINT8]: [0, 0xff],
    [GgufValueType.INT8]: [-0x80, 0x7f],
    [GgufValueType.UINT16]: [0, 0xffff],
    [GgufValueType.INT16]: [-0x8000, 0x7fff],
    [GgufValueType.UINT32]: [0, 0xffffffff],
    [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};

/** Throws a message naming the key when a value does not fit its declared type. */
function checkScalar(key: string, type: GgufValueType, value: GgufScalar): void {
    const bad = (expected: string) =>
        new Error(`GGUF metadata "${key}": ${JSON.stringify(String(value))} is not ${expected}`);
    switch (type) {
        case GgufValueType.STRING:
            if (typeof value !== "string") throw bad("a string");
            return;
        case GgufValueType.BOOL:
            if (typeof value !== "boolean") throw bad("a boolean");
            return;
        case GgufValueType.FLOAT32:
        case GgufValueType.FLOAT64:
            if (typeof value !== "number") throw bad("a number");
            return;
        case GgufValueType.UINT64:
            if (typeof value !== "bigint" || value < 0n || value >= 1n << 64n) throw bad("a UINT64 bigint");
            return;
        case GgufValueType.INT64:
            if (typeof value !== "bigint" || value < -(1n << 63n) || value >= 1n << 63n) throw bad("an INT64 bigint");
            return;
        case GgufValueType.ARRAY:
            throw new Error(`GGUF metadata "${key}": arrays of arrays are not supported`);
        default: {
            const range = INTEGER_RANGES[type];
            if (range === undefined) throw new Error(`GGUF metadata "${key}": unknown value type ${type}`);
            if (typeof value !== "number" || !Number.isInteger(value) || value < range[0] || value > range[1])
                throw bad(`a valid ${ggufValueTypeName(type)}`);
        }
    }
}

function writeScalar(sink: ByteSink, type: GgufValueType, value: GgufScalar): void {
    switch (type) {
        case GgufValueType.STRING:
            sink.string(value as string);
            return;
        case GgufValueType.BOOL:
            sink.u8(value ? 1 : 0);
            return;
        case GgufValueType.UINT8:
            sink.u8(value as number);
            return;
        case GgufValueType.INT8:
            sink.i8(value as number);
            return;
        case GgufValueType.UINT16:
            sink.u16(value as number);
            return;
        case GgufValueType.INT16:
            sink.i16(value as number);
            return;
        case GgufValueType.UINT32:
            sink.u32(value as number);
            return;
        case GgufValueType.INT32:
            sink.i32(value as number);
            return;
        case GgufValueType.FLOAT32:
            sink.f32(value as number);
            return;
        case GgufValueType.FLOAT64:
            sink.f64(value as number);
            return;
        case GgufValueType.UINT64:
            sink.u64(value as bigint);
            return;
        case GgufValueType.INT64:
            sink.i64(value as bigint);
            return;
        case GgufValueType.ARRAY:
            throw new Error("writeScalar: ARRAY is not a scalar");
    }
}

function writeMetadata(sink: ByteSink, key: string, entry: GgufValue): void {
    sink.string(key);
    sink.u32(entry.type);
    if (entry.type === GgufValueType.ARRAY) {
        sink.u32(entry.itemType);
        sink.u64(BigInt(entry.value.length));
        for (const item of entry.value) {
            checkScalar(key, entry.itemType, item);
            writeScalar(sink, entry.itemType, item);
        }
        return;
    }
    checkScalar(key, entry.type, entry.value);
    writeScalar(sink, entry.type, entry.value);
}

function checkTensor(tensor: GgufTensorToWrite): void {
    const {name, ne, data} = tensor;
    if (name.length === 0) throw new Error("GGUF tensor with an empty name");
    if (ne.length < 1 || ne.length > 4)
        throw new Error(`GGUF tensor "${name}": ${ne.length} dimensions, expected 1 to 4`);
    if (!ne.every((n) => Number.isSafeInteger(n) && n >= 1))
        throw new Error(`GGUF tensor "${name}": dimensions {${ne.join(", ")}} must be positive integers`);
    const count = ne.reduce((a, b) => a * b, 1);
    if (data.length !== count)
        throw new Error(
            `GGUF tensor "${name}": ${data.length} values for shape {${ne.join(", ")}} (${count} expected)`,
        );
    if (tensor.type !== "F32" && tensor.type !== "F16")
        throw new Error(`GGUF tensor "${name}": type ${String(tensor.type)}, expected F32 or F16`);
}

function tensorBytes(tensor: GgufTensorToWrite): Uint8Array {
    if (tensor.type === "F16") {
        const halves = f32ArrayToF16(tensor.data);
        return new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
    }
    return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

function checkMetadataKeys(metadata: GgufToWrite["metadata"]): void {
    const keys = new Set<string>();
    for (const [key, entry] of metadata) {
        if (key.length === 0) throw new Error("GGUF metadata with an empty key");
        if (keys.has(key)) throw new Error(`GGUF metadata key "${key}" given twice`);
        keys.add(key);
        // Readers take this key as the data alignment; this writer always aligns to 32.
        if (key === "general.alignment" && !(entry.type === GgufValueType.UINT32 && entry.value === ALIGNMENT))
            throw new Error(`GGUF metadata "general.alignment" must be absent or UINT32 ${ALIGNMENT}`);
    }
}

/** Where a tensor's data goes and how large it is: what the header says about it. */
export interface GgufTensorLayout {
    readonly name: string;
    /** Innermost first. */
    readonly ne: readonly number[];
    /** A `GgmlType` number. */
    readonly type: number;
    readonly byteLength: number;
}

function checkLayout(tensor: GgufTensorLayout): void {
    const {name, ne} = tensor;
    if (name.length === 0) throw new Error("GGUF tensor with an empty name");
    if (ne.length < 1 || ne.length > 4)
        throw new Error(`GGUF tensor "${name}": ${ne.length} dimensions, expected 1 to 4`);
    if (!ne.every((n) => Number.isSafeInteger(n) && n >= 1))
        throw new Error(`GGUF tensor "${name}": dimensions {${ne.join(", ")}} must be positive integers`);
    const expected = ggmlTensorByteLength(tensor.type, ne);
    if (typeof expected === "string") throw new Error(`GGUF tensor "${name}": ${expected}`);
    if (expected !== tensor.byteLength)
        throw new Error(
            `GGUF tensor "${name}": ${tensor.byteLength} bytes, but ${ggmlTypeName(tensor.type)} {${ne.join(", ")}} takes ${expected}`,
        );
}

/**
 * The header (magic .. padding before the data) for these tensors in this order; each tensor's
 * data follows at a multiple of 32 bytes from the data start.
 */
export function encodeGgufHeader(
    metadata: GgufToWrite["metadata"],
    tensors: readonly GgufTensorLayout[],
): {header: Buffer; offsets: number[]} {
    checkMetadataKeys(metadata);
    const names = new Set<string>();
    for (const tensor of tensors) {
        checkLayout(tensor);
        if (names.has(tensor.name)) throw new Error(`GGUF tensor "${tensor.name}" given twice`);
        names.add(tensor.name);
    }
    const sink = new ByteSink();
    sink.bytes(Buffer.from(GGUF_MAGIC, "latin1"));
    sink.u32(GGUF_VERSION);
    sink.u64(BigInt(tensors.length));
    sink.u64(BigInt(metadata.length));
    for (const [key, entry] of metadata) writeMetadata(sink, key, entry);
    const offsets: number[] = [];
    let offset = 0;
    for (const tensor of tensors) {
        sink.string(tensor.name);
        sink.u32(tensor.ne.length);
        for (const n of tensor.ne) sink.u64(BigInt(n));
        sink.u32(tensor.type);
        sink.u64(BigInt(offset));
        offsets.push(offset);
        offset += Math.ceil(tensor.byteLength / ALIGNMENT) * ALIGNMENT;
    }
    sink.padTo(ALIGNMENT);
    return {header: sink.toBuffer(), offsets};
}

export async function writeGguf(filePath: string, gguf: GgufToWrite): Promise<void> {
    if (endianness() !== "LE") throw new Error("GGUF writing needs a little-endian host");
    for (const tensor of gguf.tensors) checkTensor(tensor);
    const tempPath = join(
        dirname(filePath),
        `.${basename(filePath)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
    );
    // Written under a temporary name (removed on failure), then renamed: atomic.
    await writeGgufStreamed(
        tempPath,
        gguf.metadata,
        gguf.tensors.map((tensor) => {
            const bytes = tensorBytes(tensor);
            return {
                name: tensor.name,
                ne: tensor.ne,
                type: tensor.type === "F16" ? GgmlType.F16 : GgmlType.F32,
                byteLength: bytes.length,
                data: async function* () {
                    yield bytes;
                },
            };
        }),
    );
    try {
        await rename(tempPath, filePath);
    } catch (error) {
        await unlink(tempPath).catch(() => undefined);
        throw error;
    }
}

/** A tensor whose data arrives in pieces (a model tensor copied or converted), written in order. */
export interface GgufStreamedTensor extends GgufTensorLayout {
    /** The tensor's data: exactly `byteLength` bytes in all. */
    data(): AsyncIterable<Uint8Array>;
}

/**
 * Writes a GGUF with tensors of any type to a new file, one piece at a time, so a model never
 * sits in memory whole. Not atomic by itself: write to a temporary name and rename it
 * (files/derivedFile.ts does); a failure removes the partial file.
 */
export async function writeGgufStreamed(
    filePath: string,
    metadata: GgufToWrite["metadata"],
    tensors: readonly GgufStreamedTensor[],
): Promise<void> {
    const {header} = encodeGgufHeader(metadata, tensors);
    const handle = await open(filePath, "wx");
    let complete = false;
    try {
        let position = 0;
        const write = async (bytes: Uint8Array) => {
            let done = 0;
            while (done < bytes.length) {
                const {bytesWritten} = await handle.write(bytes, done, bytes.length - done, position + done);
                done += bytesWritten;
            }
            position += bytes.length;
        };
        await write(header);
        for (const tensor of tensors) {
            let written = 0;
            for await (const piece of tensor.data()) {
                if (written + piece.length > tensor.byteLength)
                    throw new Error(`GGUF tensor "${tensor.name}": more data than its ${tensor.byteLength} bytes`);
                await write(piece);
                written += piece.length;
            }
            if (written !== tensor.byteLength)
                throw new Error(
                    `GGUF tensor "${tensor.name}": ${written} bytes of data, expected ${tensor.byteLength}`,
                );
            const padding = (ALIGNMENT - (written % ALIGNMENT)) % ALIGNMENT;
            if (padding > 0) await write(new Uint8Array(padding));
        }
        await handle.sync();
        complete = true;
    } finally {
        await handle.close().catch(() => undefined);
        if (!complete) await unlink(filePath).catch(() => undefined);
    }
}
