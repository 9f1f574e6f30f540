// GGUF value types, ggml tensor types and the errors the reader and writer raise.
// Numbers follow ggml's gguf.h / ggml.h; the spec lives in docs/formats.md.

export const GGUF_MAGIC = "GGUF";
/** The version this project writes; the reader also accepts v2 (same layout, little-endian only). */
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

export enum GgufValueType {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
}

/** Scalar types whose values are JS numbers (64-bit integers are bigints instead). */
export type GgufNumberValueType =
    | GgufValueType.UINT8
    | GgufValueType.INT8
    | GgufValueType.UINT16
    | GgufValueType.INT16
    | GgufValueType.UINT32
    | GgufValueType.INT32
    | GgufValueType.FLOAT32
    | GgufValueType.FLOAT64;

export type GgufBigIntValueType = GgufValueType.UINT64 | GgufValueType.INT64;

export type GgufScalar = string | number | bigint | boolean;

export type GgufValue =
    | {type: GgufValueType.STRING; value: string}
    | {type: GgufValueType.BOOL; value: boolean}
    | {type: GgufBigIntValueType; value: bigint}
    | {type: GgufNumberValueType; value: number}
    | {type: GgufValueType.ARRAY; itemType: GgufValueType; value: readonly GgufScalar[]};

export function ggufValueTypeName(type: number): string {
    return GgufValueType[type] ?? `unknown value type ${type}`;
}

export function isNumberValueType(type: GgufValueType): type is GgufNumberValueType {
    return (
        type === GgufValueType.UINT8 ||
        type === GgufValueType.INT8 ||
        type === GgufValueType.UINT16 ||
        type === GgufValueType.INT16 ||
        type === GgufValueType.UINT32 ||
        type === GgufValueType.INT32 ||
        type === GgufValueType.FLOAT32 ||
        type === GgufValueType.FLOAT64
    );
}

export function isBigIntValueType(type: GgufValueType): type is GgufBigIntValueType {
    return type === GgufValueType.UINT64 || type === GgufValueType.INT64;
}

/** Byte size of a fixed-size scalar on disk; undefined for STRING and ARRAY. */
export function scalarByteSize(type: GgufValueType): number | undefined {
    switch (type) {
        case GgufValueType.UINT8:
        case GgufValueType.INT8:
        case GgufValueType.BOOL:
            return 1;
        case GgufValueType.UINT16:
        case GgufValueType.INT16:
            return 2;
        case GgufValueType.UINT32:
        case GgufValueType.INT32:
        case GgufValueType.FLOAT32:
            return 4;
        case GgufValueType.UINT64:
        case GgufValueType.INT64:
        case GgufValueType.FLOAT64:
            return 8;
        default:
            return undefined;
    }
}

/** ggml tensor types (ggml.h `enum ggml_type`); gaps are types ggml removed. */
export const GgmlType = {
    F32: 0,
    F16: 1,
    Q4_0: 2,
    Q4_1: 3,
    Q5_0: 6,
    Q5_1: 7,
    Q8_0: 8,
    Q8_1: 9,
    Q2_K: 10,
    Q3_K: 11,
    Q4_K: 12,
    Q5_K: 13,
    Q6_K: 14,
    Q8_K: 15,
    IQ2_XXS: 16,
    IQ2_XS: 17,
    IQ3_XXS: 18,
    IQ1_S: 19,
    IQ4_NL: 20,
    IQ3_S: 21,
    IQ2_S: 22,
    IQ4_XS: 23,
    I8: 24,
    I16: 25,
    I32: 26,
    I64: 27,
    F64: 28,
    IQ1_M: 29,
    BF16: 30,
    TQ1_0: 34,
    TQ2_0: 35,
    MXFP4: 39,
} as const;

export type GgmlTypeName = keyof typeof GgmlType;

/** Elements per block and bytes per block, from ggml's type traits; needed to size tensor data. */
const GGML_BLOCK_LAYOUT: ReadonlyMap<number, {blockSize: number; typeSize: number}> = new Map([
    [GgmlType.F32, {blockSize: 1, typeSize: 4}],
    [GgmlType.F16, {blockSize: 1, typeSize: 2}],
    [GgmlType.Q4_0, {blockSize: 32, typeSize: 18}],
    [GgmlType.Q4_1, {blockSize: 32, typeSize: 20}],
    [GgmlType.Q5_0, {blockSize: 32, typeSize: 22}],
    [GgmlType.Q5_1, {blockSize: 32, typeSize: 24}],
    [GgmlType.Q8_0, {blockSize: 32, typeSize: 34}],
    [GgmlType.Q8_1, {blockSize: 32, typeSize: 36}],
    [GgmlType.Q2_K, {blockSize: 256, typeSize: 84}],
    [GgmlType.Q3_K, {blockSize: 256, typeSize: 110}],
    [GgmlType.Q4_K, {blockSize: 256, typeSize: 144}],
    [GgmlType.Q5_K, {blockSize: 256, typeSize: 176}],
    [GgmlType.Q6_K, {blockSize: 256, typeSize: 210}],
    [GgmlType.Q8_K, {blockSize: 256, typeSize: 292}],
    [GgmlType.IQ2_XXS, {blockSize: 256, typeSize: 66}],
    [GgmlType.IQ2_XS, {blockSize: 256, typeSize: 74}],
    [GgmlType.IQ3_XXS, {blockSize: 256, typeSize: 98}],
    [GgmlType.IQ1_S, {blockSize: 256, typeSize: 50}],
    [GgmlType.IQ4_NL, {blockSize: 32, typeSize: 18}],
    [GgmlType.IQ3_S, {blockSize: 256, typeSize: 110}],
    [GgmlType.IQ2_S, {blockSize: 256, typeSize: 82}],
    [GgmlType.IQ4_XS, {blockSize: 256, typeSize: 136}],
    [GgmlType.I8, {blockSize: 1, typeSize: 1}],
    [GgmlType.I16, {blockSize: 1, typeSize: 2}],
    [GgmlType.I32, {blockSize: 1, typeSize: 4}],
    [GgmlType.I64, {blockSize: 1, typeSize: 8}],
    [GgmlType.F64, {blockSize: 1, typeSize: 8}],
    [GgmlType.IQ1_M, {blockSize: 256, typeSize: 56}],
    [GgmlType.BF16, {blockSize: 1, typeSize: 2}],
    [GgmlType.TQ1_0, {blockSize: 256, typeSize: 54}],
    [GgmlType.TQ2_0, {blockSize: 256, typeSize: 66}],
    [GgmlType.MXFP4, {blockSize: 32, typeSize: 17}],
]);

const GGML_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
    Object.entries(GgmlType).map(([name, id]) => [id, name] as const),
);

/** "Q4_K" for 12; "ggml type 99" for numbers this reader does not know. */
export function ggmlTypeName(type: number): string {
    return GGML_TYPE_NAMES.get(type) ?? `ggml type ${type}`;
}

export function isKnownGgmlType(type: number): boolean {
    return GGML_BLOCK_LAYOUT.has(type);
}

/**
 * Bytes a tensor of this type and shape occupies, or a string saying why it cannot be sized
 * (unknown type, or a row length that is not a whole number of blocks).
 */
export function ggmlTensorByteLength(type: number, ne: readonly number[]): number | string {
    const layout = GGML_BLOCK_LAYOUT.get(type);
    if (layout === undefined) return `unknown tensor type ${type}`;
    const [rowLength = 1, ...outer] = ne;
    if (rowLength % layout.blockSize !== 0)
        return `row length ${rowLength} is not a multiple of the ${ggmlTypeName(type)} block size ${layout.blockSize}`;
    let bytes = (rowLength / layout.blockSize) * layout.typeSize;
    for (const n of outer) bytes *= n;
    if (!Number.isSafeInteger(bytes)) return `byte size of shape {${ne.join(", ")}} overflows`;
    return bytes;
}

/** What went wrong, for callers that map format errors to their own codes. */
export type GgufFormatProblem =
    | "not-gguf" // missing or wrong magic, or too short to hold one
    | "unsupported-version"
    | "truncated" // the file ends before something the header promises
    | "invalid" // structurally wrong header (bad counts, duplicate keys or tensors, misaligned data)
    | "metadata" // a metadata key the caller asked for is missing or has the wrong type
    | "tensor"; // a tensor the caller asked for is missing or of a type it cannot convert

export class GgufFormatError extends Error {
    override name = "GgufFormatError";
    constructor(
        readonly filePath: string,
        readonly problem: GgufFormatProblem,
        detail: string,
    ) {
        super(`${filePath}: ${detail}`);
    }
}

export interface GgufTensorInfo {
    name: string;
    /** Dimensions innermost first: PyTorch `[rows][cols]` is `{cols, rows}`. */
    ne: number[];
    /** A `GgmlType` number. */
    type: number;
    /** Byte offset of the data from `GgufHeader.dataOffset`. */
    offset: number;
    byteLength: number;
}

export interface GgufHeader {
    filePath: string;
    version: number;
    metadata: ReadonlyMap<string, GgufValue>;
    tensors: readonly GgufTensorInfo[];
    alignment: number;
    /** Absolute file offset where tensor data starts. */
    dataOffset: number;
    fileSize: number;
}
