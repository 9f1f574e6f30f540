// Derives a faster copy of a base model: tensors of a type llama.cpp's CPU kernels run slowly
// (the K-quants and Q5_0 that Q4_K_M falls back to when a row is not a multiple of 256) become
// Q8_0 (or Q4_0); F32/F16 tensors and those already Q8_0 are copied byte for byte. Q5_0 -> Q8_0
// is exact; K-quants go through float32 and ggml's reference quantizer. Names, shapes and the
// vocabulary stay, so the structural fingerprint, and with it every adapter and calibration,
// still applies. The same input gives the same bytes.

import {
    GgmlType,
    type GgufStreamedTensor,
    GgufTensorFile,
    type GgufTensorInfo,
    type GgufValue,
    GgufValueType,
    ggmlTensorByteLength,
    ggmlTypeName,
    readGgufHeader,
    writeGgufStreamed,
} from "../gguf";
import {canDequantize, convertTensorData, isExactConversion, QUANTIZERS, type QuantTarget} from "../gguf/quant";

/** llama.cpp's `llama_ftype` for a file mostly of the target type (general.file_type). */
const FILE_TYPE: Record<QuantTarget, number> = {Q8_0: 7, Q4_0: 2};

/** Kept as they are: already fast (Q8_0) or not quantized at all. */
const KEPT_TYPES: ReadonlySet<number> = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0]);

const COPY_PIECE_BYTES = 8 << 20;

export class RequantizeError extends Error {
    override name = "RequantizeError";
}

export interface RequantizeSummary {
    /** Tensors copied unchanged. */
    readonly kept: number;
    /** Tensors re-encoded without changing a value (Q5_0 -> Q8_0). */
    readonly exact: number;
    /** Tensors dequantized and quantized again, by source type name. */
    readonly requantized: Readonly<Record<string, number>>;
    readonly bytes: number;
}

/** The type a tensor gets in the derived file. */
export function derivedTensorType(tensor: GgufTensorInfo, target: QuantTarget): number {
    const to = QUANTIZERS[target].type;
    if (KEPT_TYPES.has(tensor.type) || tensor.type === to) return tensor.type;
    if (!canDequantize(tensor.type))
        throw new RequantizeError(`tensor "${tensor.name}" is ${ggmlTypeName(tensor.type)}, which cannot be converted`);
    return to;
}

function elementCount(ne: readonly number[]): number {
    return ne.reduce((a, b) => a * b, 1);
}

export interface RequantizeOptions {
    /** Stops between tensors; the partial file is removed (writeGgufStreamed). */
    readonly signal?: AbortSignal;
}

/**
 * Writes `destination` (a new file; callers give a temporary name and rename it) from the model
 * at `source`. `metadata` entries are added, or replace entries of the same key.
 */
export async function requantizeModel(
    source: string,
    destination: string,
    target: QuantTarget,
    metadata: ReadonlyArray<readonly [string, GgufValue]> = [],
    options: RequantizeOptions = {},
): Promise<RequantizeSummary> {
    const {signal} = options;
    signal?.throwIfAborted();
    const header = await readGgufHeader(source);
    const added = new Map(metadata);
    added.set("general.file_type", {type: GgufValueType.UINT32, value: FILE_TYPE[target]});
    // Same order as the source; replaced keys stay where they were, new ones go last.
    const entries: [string, GgufValue][] = [...header.metadata.entries()].map(([key, value]) => [
        key,
        added.get(key) ?? value,
    ]);
    for (const [key, value] of added) if (!header.metadata.has(key)) entries.push([key, value]);
    let kept = 0;
    let exact = 0;
    const requantized: Record<string, number> = {};
    const file = await GgufTensorFile.open(header);
    try {
        const tensors = header.tensors.map((tensor): GgufStreamedTensor => {
            const type = derivedTensorType(tensor, target);
            const byteLength = ggmlTensorByteLength(type, tensor.ne);
            if (typeof byteLength === "string") throw new RequantizeError(`tensor "${tensor.name}": ${byteLength}`);
            const layout = {name: tensor.name, ne: tensor.ne, type, byteLength};
            if (type === tensor.type) {
                kept++;
                return {
                    ...layout,
                    async *data() {
                        signal?.throwIfAborted();
                        for (let start = 0; start < tensor.byteLength; start += COPY_PIECE_BYTES)
                            yield await file.readRaw(
                                tensor,
                                start,
                                Math.min(COPY_PIECE_BYTES, tensor.byteLength - start),
                            );
                    },
                };
            }
            if (isExactConversion(tensor.type, target)) exact++;
            else requantized[ggmlTypeName(tensor.type)] = (requantized[ggmlTypeName(tensor.type)] ?? 0) + 1;
            return {
                ...layout,
                async *data() {
                    signal?.throwIfAborted();
                    yield convertTensorData(tensor.type, await file.readRaw(tensor), elementCount(tensor.ne), target);
                },
            };
        });
        await writeGgufStreamed(destination, entries, tensors);
        const bytes = (await readGgufHeader(destination)).fileSize;
        return {kept, exact, requantized, bytes};
    } finally {
        await file.close();
    }
}
