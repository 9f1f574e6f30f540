// GGUF header reader. Reads only the header through a buffered file handle, so a 250 MB model
// whose metadata holds 262k-token arrays costs a few MB of reads, never the whole file. A small
// file already in memory (a calibration: read once, hashed and parsed from the same bytes) is
// parsed from those bytes.

import {open} from "node:fs/promises";
import {endianness} from "node:os";
import {quote} from "../messages/quote";
import {bf16ArrayToF32, f16ArrayToF32} from "./half";
import {
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    GgmlType,
    GgufFormatError,
    type GgufHeader,
    type GgufScalar,
    type GgufTensorInfo,
    type GgufValue,
    GgufValueType,
    ggmlTensorByteLength,
    ggmlTypeName,
    ggufValueTypeName,
    isBigIntValueType,
    isNumberValueType,
    scalarByteSize,
} from "./types";

const CHUNK_BYTES = 1 << 20;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: a tensor name has at most 63 bytes (plus its NUL). */
const MAX_TENSOR_NAME_BYTES = 63;
const SUPPORTED_VERSIONS = [2, 3];

/** Where a GGUF's bytes come from: an open file, or its bytes in memory (`bytesSource`). */
export interface GgufByteSource {
    read(target: Uint8Array, offset: number, length: number, position: number): Promise<{bytesRead: number}>;
    close(): Promise<void>;
}

/** A file's bytes, read once, as a GGUF byte source. */
export function bytesSource(bytes: Uint8Array): GgufByteSource {
    return {
        read: async (target, offset, length, position) => {
            const piece = bytes.subarray(position, position + length);
            target.set(piece, offset);
            return {bytesRead: piece.length};
        },
        close: async () => {},
    };
}

/** Sequential reader over a byte source with a growable window; parsing is synchronous once bytes are buffered. */
class BufferedFileReader {
    private buffer = Buffer.alloc(CHUNK_BYTES);
    /** File offset of buffer[0]. */
    private bufferStart = 0;
    private cursor = 0;
    private filled = 0;

    constructor(
        private readonly handle: GgufByteSource,
        readonly fileSize: number,
        readonly filePath: string,
    ) {}

    get position(): number {
        return this.bufferStart + this.cursor;
    }

    get remainingInFile(): number {
        return this.fileSize - this.position;
    }

    /** True when `n` bytes can be parsed without another read; callers await `fill` otherwise. */
    has(n: number): boolean {
        return this.filled - this.cursor >= n;
    }

    async fill(n: number, what: string): Promise<void> {
        if (n > this.remainingInFile)
            throw new GgufFormatError(
                this.filePath,
                "truncated",
                `truncated: ${what} needs ${n} bytes at offset ${this.position}, but the file is ${this.fileSize} bytes`,
            );
        const unread = this.filled - this.cursor;
        if (n > this.buffer.length) {
            const bigger = Buffer.alloc(Math.max(n, this.buffer.length * 2));
            this.buffer.copy(bigger, 0, this.cursor, this.filled);
            this.buffer = bigger;
        } else {
            this.buffer.copy(this.buffer, 0, this.cursor, this.filled);
        }
        this.bufferStart += this.cursor;
        this.cursor = 0;
        this.filled = unread;
        while (this.filled < n) {
            const want = Math.min(this.buffer.length - this.filled, this.fileSize - this.bufferStart - this.filled);
            const {bytesRead} = await this.handle.read(this.buffer, this.filled, want, this.bufferStart + this.filled);
            if (bytesRead === 0)
                throw new GgufFormatError(this.filePath, "truncated", `truncated: file ended while reading ${what}`);
            this.filled += bytesRead;
        }
    }

    async ensure(n: number, what: string): Promise<void> {
        if (!this.has(n)) await this.fill(n, what);
    }

    u8(): number {
        return this.buffer.readUInt8(this.cursor++);
    }
    i8(): number {
        return this.buffer.readInt8(this.cursor++);
    }
    u16(): number {
        const v = this.buffer.readUInt16LE(this.cursor);
        this.cursor += 2;
        return v;
    }
    i16(): number {
        const v = this.buffer.readInt16LE(this.cursor);
        this.cursor += 2;
        return v;
    }
    u32(): number {
        const v = this.buffer.readUInt32LE(this.cursor);
        this.cursor += 4;
        return v;
    }
    i32(): number {
        const v = this.buffer.readInt32LE(this.cursor);
        this.cursor += 4;
        return v;
    }
    f32(): number {
        const v = this.buffer.readFloatLE(this.cursor);
        this.cursor += 4;
        return v;
    }
    f64(): number {
        const v = this.buffer.readDoubleLE(this.cursor);
        this.cursor += 8;
        return v;
    }
    u64(): bigint {
        const v = this.buffer.readBigUInt64LE(this.cursor);
        this.cursor += 8;
        return v;
    }
    i64(): bigint {
        const v = this.buffer.readBigInt64LE(this.cursor);
        this.cursor += 8;
        return v;
    }
    ascii(n: number): string {
        const v = this.buffer.toString("latin1", this.cursor, this.cursor + n);
        this.cursor += n;
        return v;
    }
    utf8(n: number): string {
        const v = this.buffer.toString("utf8", this.cursor, this.cursor + n);
        this.cursor += n;
        return v;
    }
}

function fail(reader: BufferedFileReader, detail: string): never {
    throw new GgufFormatError(reader.filePath, "invalid", detail);
}

/** A u64 count or size as a number, refusing values no real file could hold. */
function u64AsNumber(reader: BufferedFileReader, value: bigint, what: string): number {
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(reader, `${what} is ${value}, which is impossibly large`);
    return Number(value);
}

async function readString(reader: BufferedFileReader, what: string, maxBytes?: number): Promise<string> {
    await reader.ensure(8, `the length of ${what}`);
    const length = u64AsNumber(reader, reader.u64(), `the length of ${what}`);
    // Checked before reading: a corrupt length must not pull megabytes into a name (or a message).
    if (maxBytes !== undefined && length > maxBytes)
        fail(reader, `${what} is ${length} bytes long; ggml allows at most ${maxBytes}`);
    await reader.ensure(length, what);
    return reader.utf8(length);
}

function readScalarSync(reader: BufferedFileReader, type: GgufValueType): GgufScalar {
    switch (type) {
        case GgufValueType.UINT8:
            return reader.u8();
        case GgufValueType.INT8:
            return reader.i8();
        case GgufValueType.UINT16:
            return reader.u16();
        case GgufValueType.INT16:
            return reader.i16();
        case GgufValueType.UINT32:
            return reader.u32();
        case GgufValueType.INT32:
            return reader.i32();
        case GgufValueType.FLOAT32:
            return reader.f32();
        case GgufValueType.FLOAT64:
            return reader.f64();
        case GgufValueType.UINT64:
            return reader.u64();
        case GgufValueType.INT64:
            return reader.i64();
        case GgufValueType.BOOL: {
            const byte = reader.u8();
            if (byte > 1) fail(reader, `a BOOL value is ${byte} at offset ${reader.position - 1}, expected 0 or 1`);
            return byte === 1;
        }
        default:
            throw new Error(`readScalarSync: ${ggufValueTypeName(type)} is not a fixed-size scalar`);
    }
}

function isValueType(type: number): type is GgufValueType {
    return Number.isInteger(type) && type >= 0 && type <= GgufValueType.FLOAT64;
}

async function readArray(reader: BufferedFileReader, key: string): Promise<GgufValue> {
    await reader.ensure(12, `the array header of ${quote(key)}`);
    const itemType = reader.u32();
    const count = u64AsNumber(reader, reader.u64(), `the item count of ${quote(key)}`);
    if (!isValueType(itemType)) fail(reader, `metadata ${quote(key)} is an array of unknown value type ${itemType}`);
    if (itemType === GgufValueType.ARRAY)
        fail(reader, `metadata ${quote(key)} is an array of arrays, which GGUF readers reject`);
    const itemSize = scalarByteSize(itemType) ?? 8; // a string is at least its 8-byte length
    if (count * itemSize > reader.remainingInFile)
        throw new GgufFormatError(
            reader.filePath,
            "truncated",
            `truncated: metadata ${quote(key)} claims ${count} items, more than the ${reader.remainingInFile} bytes left in the file`,
        );
    const items: GgufScalar[] = new Array(count);
    if (itemType === GgufValueType.STRING) {
        const what = `an item of ${quote(key)}`;
        for (let i = 0; i < count; i++) {
            if (!reader.has(8)) await reader.fill(8, what);
            const length = u64AsNumber(reader, reader.u64(), `the length of ${what}`);
            if (!reader.has(length)) await reader.fill(length, what);
            items[i] = reader.utf8(length);
        }
    } else {
        for (let i = 0; i < count; i++) {
            if (!reader.has(itemSize)) await reader.fill(Math.min(CHUNK_BYTES, (count - i) * itemSize), quote(key));
            items[i] = readScalarSync(reader, itemType);
        }
    }
    return {type: GgufValueType.ARRAY, itemType, value: items};
}

async function readValue(reader: BufferedFileReader, key: string, type: number): Promise<GgufValue> {
    if (!isValueType(type)) fail(reader, `metadata ${quote(key)} has unknown value type ${type}`);
    if (type === GgufValueType.STRING)
        return {type, value: await readString(reader, `the value of metadata ${quote(key)}`)};
    if (type === GgufValueType.ARRAY) return readArray(reader, key);
    await reader.ensure(scalarByteSize(type) ?? 0, `the value of metadata ${quote(key)}`);
    const value = readScalarSync(reader, type);
    if (type === GgufValueType.BOOL) return {type, value: value as boolean};
    if (isBigIntValueType(type)) return {type, value: value as bigint};
    if (isNumberValueType(type)) return {type, value: value as number};
    throw new Error(`readValue: unhandled ${ggufValueTypeName(type)}`);
}

async function readTensorInfo(reader: BufferedFileReader, index: number): Promise<GgufTensorInfo> {
    const name = await readString(reader, `the name of tensor #${index}`, MAX_TENSOR_NAME_BYTES);
    const quoted = quote(name);
    await reader.ensure(4, `the dimension count of tensor ${quoted}`);
    const nDims = reader.u32();
    if (nDims < 1 || nDims > MAX_DIMS)
        fail(reader, `tensor ${quoted} has ${nDims} dimensions, expected 1 to ${MAX_DIMS}`);
    await reader.ensure(nDims * 8 + 12, `the shape of tensor ${quoted}`);
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) ne.push(u64AsNumber(reader, reader.u64(), `dimension ${d} of tensor ${quoted}`));
    const type = reader.u32();
    const offset = u64AsNumber(reader, reader.u64(), `the data offset of tensor ${quoted}`);
    const byteLength = ggmlTensorByteLength(type, ne);
    if (typeof byteLength === "string") fail(reader, `tensor ${quoted} (${ggmlTypeName(type)}): ${byteLength}`);
    return {name, ne, type, offset, byteLength};
}

function alignmentFrom(reader: BufferedFileReader, metadata: ReadonlyMap<string, GgufValue>): number {
    const entry = metadata.get("general.alignment");
    if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
    if (entry.type !== GgufValueType.UINT32)
        fail(reader, `"general.alignment" is ${ggufValueTypeName(entry.type)}, expected UINT32`);
    const alignment = entry.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0)
        fail(reader, `"general.alignment" is ${alignment}, expected a power of two`);
    return alignment;
}

/** Byte-swapped version numbers that mean "a big-endian GGUF", which this reader does not support. */
function looksBigEndian(version: number): boolean {
    return SUPPORTED_VERSIONS.some((v) => version === Buffer.from([0, 0, 0, v]).readUInt32LE(0));
}

export async function readGgufHeader(filePath: string): Promise<GgufHeader> {
    const handle = await open(filePath, "r");
    try {
        const {size: fileSize} = await handle.stat();
        return await parseGgufHeader(handle, fileSize, filePath);
    } finally {
        await handle.close();
    }
}

/** The header of a GGUF file whose bytes are in memory; `filePath` names it in errors. */
export function readGgufHeaderFromBytes(bytes: Uint8Array, filePath: string): Promise<GgufHeader> {
    return parseGgufHeader(bytesSource(bytes), bytes.length, filePath);
}

async function parseGgufHeader(source: GgufByteSource, fileSize: number, filePath: string): Promise<GgufHeader> {
    const reader = new BufferedFileReader(source, fileSize, filePath);
    if (fileSize < 4) throw new GgufFormatError(filePath, "not-gguf", `not a GGUF file: only ${fileSize} bytes long`);
    await reader.fill(Math.min(fileSize, 24), "the file header");
    const magic = reader.ascii(4);
    if (magic !== GGUF_MAGIC)
        throw new GgufFormatError(
            filePath,
            "not-gguf",
            `not a GGUF file: bad magic ${JSON.stringify(magic)} (bytes ${Buffer.from(magic, "latin1").toString("hex")}), expected "GGUF"`,
        );
    await reader.ensure(4, "the version");
    const version = reader.u32();
    if (!SUPPORTED_VERSIONS.includes(version))
        throw new GgufFormatError(
            filePath,
            "unsupported-version",
            looksBigEndian(version)
                ? "unsupported GGUF: the file is big-endian, only little-endian is supported"
                : `unsupported GGUF version ${version}, expected ${SUPPORTED_VERSIONS.join(" or ")}`,
        );
    await reader.ensure(16, "the tensor and metadata counts");
    const tensorCount = u64AsNumber(reader, reader.u64(), "the tensor count");
    const metadataCount = u64AsNumber(reader, reader.u64(), "the metadata count");
    // Smallest possible entries: a key-value is 8 + 4 + 1 bytes, a tensor info 8 + 4 + 8 + 4 + 8.
    if (metadataCount * 13 + tensorCount * 32 > reader.remainingInFile)
        throw new GgufFormatError(
            filePath,
            "truncated",
            `truncated: the header claims ${metadataCount} metadata entries and ${tensorCount} tensors, more than fit in ${fileSize} bytes`,
        );

    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < metadataCount; i++) {
        const key = await readString(reader, `metadata key #${i}`);
        // ggml refuses empty and repeated keys (gguf.cpp), so llama.cpp would refuse the file.
        if (key === "") fail(reader, `metadata key #${i} is empty`);
        if (metadata.has(key)) fail(reader, `duplicate metadata key ${quote(key)}`);
        await reader.ensure(4, `the value type of metadata ${quote(key)}`);
        const type = reader.u32();
        metadata.set(key, await readValue(reader, key, type));
    }
    const alignment = alignmentFrom(reader, metadata);

    const tensors: GgufTensorInfo[] = [];
    const names = new Set<string>();
    for (let i = 0; i < tensorCount; i++) {
        const info = await readTensorInfo(reader, i);
        if (names.has(info.name)) fail(reader, `duplicate tensor ${quote(info.name)}`);
        names.add(info.name);
        tensors.push(info);
    }

    const dataOffset = Math.ceil(reader.position / alignment) * alignment;
    const dataBytes = fileSize - dataOffset;
    // ggml (gguf.cpp) requires tensor data in tensor-info order, back to back, each tensor
    // padded to the alignment: an offset out of order, shared or after a gap is refused there.
    let expectedOffset = 0;
    for (const tensor of tensors) {
        if (tensor.offset % alignment !== 0)
            fail(reader, `tensor ${quote(tensor.name)} data offset ${tensor.offset} is not a multiple of ${alignment}`);
        if (tensor.offset !== expectedOffset)
            fail(
                reader,
                `tensor ${quote(tensor.name)} has data offset ${tensor.offset}, expected ${expectedOffset}: ` +
                    `tensor data must follow the tensor list's order, back to back, each padded to ${alignment} bytes ` +
                    `(ggml refuses out-of-order, shared or gapped data; a changed tensor type also moves every later tensor)`,
            );
        expectedOffset += Math.ceil(tensor.byteLength / alignment) * alignment;
        if (tensor.offset + tensor.byteLength > dataBytes)
            throw new GgufFormatError(
                filePath,
                "truncated",
                `truncated: tensor ${quote(tensor.name)} (${ggmlTypeName(tensor.type)} {${tensor.ne.join(", ")}}) needs bytes ` +
                    `${dataOffset + tensor.offset}..${dataOffset + tensor.offset + tensor.byteLength}, but the file is ${fileSize} bytes`,
            );
    }
    return {filePath, version, metadata, tensors, alignment, dataOffset, fileSize};
}

// ---- Typed metadata access -------------------------------------------------------------

function metadataError(h: GgufHeader, detail: string): GgufFormatError {
    return new GgufFormatError(h.filePath, "metadata", detail);
}

function requireEntry(h: GgufHeader, key: string): GgufValue {
    const entry = h.metadata.get(key);
    if (entry === undefined) throw metadataError(h, `metadata key "${key}" is missing`);
    return entry;
}

function describeType(entry: GgufValue): string {
    return entry.type === GgufValueType.ARRAY
        ? `ARRAY of ${ggufValueTypeName(entry.itemType)}`
        : ggufValueTypeName(entry.type);
}

function scalarToNumber(h: GgufHeader, key: string, value: number | bigint): number {
    if (typeof value === "number") return value;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
        throw metadataError(h, `metadata "${key}" is ${value}, too large for a JS number`);
    return Number(value);
}

export function metaOptionalString(h: GgufHeader, key: string): string | undefined {
    const entry = h.metadata.get(key);
    if (entry === undefined) return undefined;
    if (entry.type !== GgufValueType.STRING)
        throw metadataError(h, `metadata "${key}" is ${describeType(entry)}, expected STRING`);
    return entry.value;
}

export function metaString(h: GgufHeader, key: string): string {
    requireEntry(h, key);
    return metaOptionalString(h, key) as string;
}

export function metaOptionalNumber(h: GgufHeader, key: string): number | undefined {
    const entry = h.metadata.get(key);
    if (entry === undefined) return undefined;
    if (isNumberValueType(entry.type) || isBigIntValueType(entry.type))
        return scalarToNumber(h, key, entry.value as number | bigint);
    throw metadataError(h, `metadata "${key}" is ${describeType(entry)}, expected a number`);
}

export function metaNumber(h: GgufHeader, key: string): number {
    requireEntry(h, key);
    return metaOptionalNumber(h, key) as number;
}

export function metaStringArray(h: GgufHeader, key: string): string[] {
    const entry = requireEntry(h, key);
    if (entry.type !== GgufValueType.ARRAY || entry.itemType !== GgufValueType.STRING)
        throw metadataError(h, `metadata "${key}" is ${describeType(entry)}, expected ARRAY of STRING`);
    return entry.value as string[];
}

export function metaNumberArray(h: GgufHeader, key: string): number[] {
    const entry = requireEntry(h, key);
    if (entry.type !== GgufValueType.ARRAY || !(isNumberValueType(entry.itemType) || isBigIntValueType(entry.itemType)))
        throw metadataError(h, `metadata "${key}" is ${describeType(entry)}, expected an ARRAY of numbers`);
    return entry.value.map((item) => scalarToNumber(h, key, item as number | bigint));
}

// ---- Tensor data ------------------------------------------------------------------------

export function findTensor(h: GgufHeader, name: string): GgufTensorInfo | undefined {
    return h.tensors.find((tensor) => tensor.name === name);
}

async function readFully(handle: GgufByteSource, target: Uint8Array, position: number, h: GgufHeader, what: string) {
    let done = 0;
    while (done < target.length) {
        const {bytesRead} = await handle.read(target, done, target.length - done, position + done);
        if (bytesRead === 0)
            throw new GgufFormatError(h.filePath, "truncated", `truncated: file ended while reading ${what}`);
        done += bytesRead;
    }
}

/** Reads tensors from one open file; use it to read many tensors without reopening the file each time. */
export class GgufTensorFile {
    private constructor(
        readonly header: GgufHeader,
        private readonly handle: GgufByteSource,
    ) {}

    static async open(header: GgufHeader): Promise<GgufTensorFile> {
        return new GgufTensorFile(header, await open(header.filePath, "r"));
    }

    /** Tensors of a file whose bytes (the ones `header` was read from) are in memory. */
    static fromBytes(header: GgufHeader, bytes: Uint8Array): GgufTensorFile {
        return new GgufTensorFile(header, bytesSource(bytes));
    }

    /** F32, F16 and BF16 tensors as F32 (innermost dimension fastest); other types throw GgufFormatError. */
    async readF32(tensor: GgufTensorInfo | string): Promise<Float32Array> {
        const h = this.header;
        const info = typeof tensor === "string" ? findTensor(h, tensor) : tensor;
        if (info === undefined) throw new GgufFormatError(h.filePath, "tensor", `no tensor named "${tensor}"`);
        if (info.type !== GgmlType.F32 && info.type !== GgmlType.F16 && info.type !== GgmlType.BF16)
            throw new GgufFormatError(
                h.filePath,
                "tensor",
                `tensor ${quote(info.name)} is ${ggmlTypeName(info.type)}; only F32, F16 and BF16 can be read as F32`,
            );
        // Typed-array views below assume a little-endian host (x64, arm64), like ggml does.
        if (endianness() !== "LE") throw new Error("GGUF tensor reading needs a little-endian host");
        const bytes = new Uint8Array(info.byteLength);
        await readFully(this.handle, bytes, h.dataOffset + info.offset, h, `tensor ${quote(info.name)}`);
        if (info.type === GgmlType.F32) return new Float32Array(bytes.buffer, 0, info.byteLength / 4);
        const halves = new Uint16Array(bytes.buffer, 0, info.byteLength / 2);
        return info.type === GgmlType.F16 ? f16ArrayToF32(halves) : bf16ArrayToF32(halves);
    }

    /**
     * `length` bytes of a tensor's stored data from byte `start` of it, as they are on disk (any
     * type): to copy or convert a tensor piece by piece.
     */
    async readRaw(tensor: GgufTensorInfo, start = 0, length = tensor.byteLength - start): Promise<Uint8Array> {
        if (start < 0 || length < 0 || start + length > tensor.byteLength)
            throw new RangeError(
                `bytes ${start}..${start + length} are outside tensor ${quote(tensor.name)} (${tensor.byteLength} bytes)`,
            );
        const bytes = new Uint8Array(length);
        const h = this.header;
        await readFully(this.handle, bytes, h.dataOffset + tensor.offset + start, h, `tensor ${quote(tensor.name)}`);
        return bytes;
    }

    async close(): Promise<void> {
        await this.handle.close();
    }
}

export async function readTensorF32(h: GgufHeader, name: string): Promise<Float32Array> {
    const file = await GgufTensorFile.open(h);
    try {
        return await file.readF32(name);
    } finally {
        await file.close();
    }
}
