// Where each field of a (valid) GGUF file sits, so a mutation can hit exactly one field: a string
// length, a value type, a tensor's type or data offset. Only for files this project wrote.

import {GgufValueType} from "../../../engine/gguf";

export interface KeyValueLayout {
    readonly key: string;
    readonly keyLengthAt: number;
    readonly typeAt: number;
    readonly valueAt: number;
    readonly end: number;
}

export interface TensorInfoLayout {
    readonly name: string;
    readonly nameLengthAt: number;
    readonly nDims: number;
    readonly neAt: number;
    readonly typeAt: number;
    readonly offsetAt: number;
}

export interface GgufLayout {
    readonly keyValues: readonly KeyValueLayout[];
    readonly tensors: readonly TensorInfoLayout[];
    /** Absolute offset of the tensor data section. */
    readonly dataAt: number;
    readonly alignment: number;
}

const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
    [GgufValueType.UINT8]: 1,
    [GgufValueType.INT8]: 1,
    [GgufValueType.BOOL]: 1,
    [GgufValueType.UINT16]: 2,
    [GgufValueType.INT16]: 2,
    [GgufValueType.UINT32]: 4,
    [GgufValueType.INT32]: 4,
    [GgufValueType.FLOAT32]: 4,
    [GgufValueType.UINT64]: 8,
    [GgufValueType.INT64]: 8,
    [GgufValueType.FLOAT64]: 8,
};

export function ggufLayout(bytes: Buffer): GgufLayout {
    let at = 8;
    const tensorCount = Number(bytes.readBigUInt64LE(at));
    const kvCount = Number(bytes.readBigUInt64LE(at + 8));
    at += 16;
    const readString = (): string => {
        const length = Number(bytes.readBigUInt64LE(at));
        const text = bytes.toString("utf8", at + 8, at + 8 + length);
        at += 8 + length;
        return text;
    };
    const skipValue = (type: GgufValueType): void => {
        if (type === GgufValueType.STRING) {
            readString();
            return;
        }
        if (type === GgufValueType.ARRAY) {
            const itemType = bytes.readUInt32LE(at) as GgufValueType;
            const count = Number(bytes.readBigUInt64LE(at + 4));
            at += 12;
            for (let i = 0; i < count; i++) skipValue(itemType);
            return;
        }
        at += SCALAR_BYTES[type] ?? 0;
    };
    const keyValues: KeyValueLayout[] = [];
    let alignment = 32;
    for (let i = 0; i < kvCount; i++) {
        const keyLengthAt = at;
        const key = readString();
        const typeAt = at;
        const type = bytes.readUInt32LE(at) as GgufValueType;
        at += 4;
        const valueAt = at;
        skipValue(type);
        if (key === "general.alignment") alignment = bytes.readUInt32LE(valueAt);
        keyValues.push({key, keyLengthAt, typeAt, valueAt, end: at});
    }
    const tensors: TensorInfoLayout[] = [];
    for (let i = 0; i < tensorCount; i++) {
        const nameLengthAt = at;
        const name = readString();
        const nDims = bytes.readUInt32LE(at);
        const neAt = at + 4;
        const typeAt = neAt + 8 * nDims;
        const offsetAt = typeAt + 4;
        at = offsetAt + 8;
        tensors.push({name, nameLengthAt, nDims, neAt, typeAt, offsetAt});
    }
    return {keyValues, tensors, dataAt: Math.ceil(at / alignment) * alignment, alignment};
}
