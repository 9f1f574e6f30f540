// One LoRA for several: the terms of every input concatenated along the rank, each term's
// factor folded into its B columns.
//
//   sum_i c_i B_i A_i x  =  B_f A_f x,   A_f = [A_1; A_2; ...],   B_f = [c_1 B_1 | c_2 B_2 | ...]
//
// where c_i = scale_i * alpha_i / r_i for a task adapter (alpha 0: no alpha/r factor, as in
// llama.cpp) and 1 for an expanded calibration. Every tensor of the written file has the same
// rank R (the largest concatenated rank, zero-padded to a multiple of 16: llama.cpp's AVX-512
// path) and `adapter.lora.alpha` = R, so llama.cpp's own factor is exactly 1 and the file is
// loaded at scale 1. llama.cpp then runs one adapter per context: two small matmuls per module
// instead of two per file, and one float summation order in every process (several LoRAs are
// summed in the order of a pointer-keyed map, which changed greedy text between processes).
// The identity is exact in F32; the engine writes B_f in F16 (FusedBType), so B_f is rounded,
// and llama.cpp then rounds the intermediate A_f x to F16 too.

import {fileVersion, sameVersion} from "../files/fileVersion";
import {type HashedFile, versionHoldingHash} from "../files/sha256";
import {
    GgufTensorFile,
    type GgufTensorToWrite,
    ggufF32,
    ggufString,
    metaOptionalNumber,
    metaString,
    readGgufHeader,
    writeGguf,
} from "../gguf";
import {AdapterChangedError} from "./errors";

/** Ranks are padded to a multiple of this (llama.cpp's AVX-512 path for B(Ax) wants K % 16 == 0). */
export const RANK_PADDING = 16;

/**
 * How B_f is stored. A_f is always F32: ggml converts a matmul's input to the weight's type, so
 * an F16 A_f would round every module's input x to F16, which cost LC++ 0.84 points on the paper
 * suite; an F16 B_f rounds B and the rank-R intermediate A_f x only, and halves the bytes read
 * per token for B (bench/results/2026-12-07-fused-f16).
 */
export type FusedBType = "F32" | "F16";

/** F16's largest finite value: a B_f tensor with a value beyond it is written in F32 instead. */
const F16_LARGEST = 65504;

/** One low-rank term on one base weight: factor * B A, with A [rank][nIn] and B [nOut][rank] row-major. */
export interface LoraTerm {
    readonly a: Float32Array;
    readonly b: Float32Array;
    readonly rank: number;
    readonly nIn: number;
    readonly nOut: number;
    readonly factor: number;
}

/** Low-rank terms keyed by base tensor name (`blk.3.attn_q.weight`): what a set of LoRA files adds. */
export interface LoraTerms {
    readonly architecture: string;
    readonly terms: ReadonlyMap<string, readonly LoraTerm[]>;
}

export class LoraFuseError extends Error {
    override name = "LoraFuseError";
}

export function paddedRank(rank: number): number {
    return Math.max(RANK_PADDING, Math.ceil(rank / RANK_PADDING) * RANK_PADDING);
}

/** The terms of a llama.cpp LoRA file loaded at `scale` (docs/formats.md, section 2). */
export async function readLoraTerms(filePath: string, scale: number): Promise<LoraTerms> {
    const header = await readGgufHeader(filePath);
    const alpha = metaOptionalNumber(header, "adapter.lora.alpha") ?? 0;
    const terms = new Map<string, LoraTerm[]>();
    const file = await GgufTensorFile.open(header);
    try {
        for (const aInfo of header.tensors) {
            if (!aInfo.name.endsWith(".lora_a")) continue;
            const baseName = aInfo.name.slice(0, -".lora_a".length);
            // token_embd's halves are laid out the other way round (runtime-facts.md); no adapter
            // of this project targets it, so refuse rather than fuse it wrongly.
            if (baseName === "token_embd.weight")
                throw new LoraFuseError(`${filePath}: token_embd adapters cannot be fused`);
            const bInfo = header.tensors.find((t) => t.name === `${baseName}.lora_b`);
            if (bInfo === undefined) throw new LoraFuseError(`${filePath}: ${aInfo.name} has no ${baseName}.lora_b`);
            const [nIn, rank, ...aRest] = aInfo.ne;
            const [bRank, nOut, ...bRest] = bInfo.ne;
            if (nIn === undefined || rank === undefined || bRank !== rank || nOut === undefined)
                throw new LoraFuseError(`${filePath}: ${baseName} has lora_a {${aInfo.ne}} and lora_b {${bInfo.ne}}`);
            if ([...aRest, ...bRest].some((n) => n !== 1))
                throw new LoraFuseError(`${filePath}: ${baseName}'s LoRA halves are not matrices`);
            // llama.cpp's factor: scale * alpha / r with r = this tensor's rank (alpha 0: scale alone).
            const factor = scale * (alpha > 0 ? alpha / rank : 1);
            terms.set(baseName, [
                {a: await file.readF32(aInfo), b: await file.readF32(bInfo), rank, nIn, nOut, factor},
            ]);
        }
        return {architecture: metaString(header, "general.architecture"), terms};
    } finally {
        await file.close();
    }
}

/**
 * The terms of a LoRA file as it was hashed when listed (at scale 1): a file changed since is
 * refused rather than fused into a file named by the old hash.
 */
export async function readHashedLoraTerms(file: HashedFile): Promise<LoraTerms> {
    const version = await versionHoldingHash(file);
    if (version === null) throw new AdapterChangedError(file.filePath);
    const terms = await readLoraTerms(file.filePath, 1);
    if (!sameVersion(version, await fileVersion(file.filePath))) throw new AdapterChangedError(file.filePath);
    return terms;
}

/** `lora` loaded at `scale`: every factor times `scale`, as readLoraTerms(file, scale) computes it. */
export function scaleLoraTerms(lora: LoraTerms, scale: number): LoraTerms {
    const terms = new Map<string, LoraTerm[]>();
    for (const [baseName, list] of lora.terms)
        terms.set(
            baseName,
            list.map((term) => ({...term, factor: scale * term.factor})),
        );
    return {architecture: lora.architecture, terms};
}

/** All terms of all inputs, in input order per base tensor (the order their ranks are concatenated). */
export function combineLoraTerms(inputs: readonly LoraTerms[]): LoraTerms {
    const [first] = inputs;
    if (first === undefined) throw new LoraFuseError("nothing to fuse");
    const terms = new Map<string, LoraTerm[]>();
    for (const input of inputs) {
        if (input.architecture !== first.architecture)
            throw new LoraFuseError(`architectures differ: "${first.architecture}" and "${input.architecture}"`);
        for (const [baseName, list] of input.terms) {
            const existing = terms.get(baseName) ?? [];
            for (const term of list) {
                const shape = existing[0];
                if (shape !== undefined && (shape.nIn !== term.nIn || shape.nOut !== term.nOut))
                    throw new LoraFuseError(
                        `${baseName}: shapes disagree between inputs (${shape.nIn}->${shape.nOut} and ${term.nIn}->${term.nOut})`,
                    );
                existing.push(term);
            }
            terms.set(baseName, existing);
        }
    }
    return {architecture: first.architecture, terms};
}

/** The rank every tensor of the fused file gets: the largest concatenated rank, padded. */
export function fusedRank(lora: LoraTerms): number {
    let largest = 0;
    for (const list of lora.terms.values())
        largest = Math.max(
            largest,
            list.reduce((sum, term) => sum + term.rank, 0),
        );
    return paddedRank(largest);
}

/** The GGUF tensors of the fused LoRA, sorted by name, with alpha = the returned rank. */
export function fusedLoraTensors(lora: LoraTerms, bType: FusedBType): {rank: number; tensors: GgufTensorToWrite[]} {
    const rank = fusedRank(lora);
    const tensors: GgufTensorToWrite[] = [];
    for (const [baseName, list] of [...lora.terms.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
        const {nIn, nOut} = list[0] as LoraTerm;
        const a = new Float32Array(rank * nIn);
        const b = new Float32Array(nOut * rank);
        let offset = 0;
        for (const term of list) {
            a.set(term.a.subarray(0, term.rank * nIn), offset * nIn);
            for (let out = 0; out < nOut; out++)
                for (let j = 0; j < term.rank; j++)
                    b[out * rank + offset + j] = term.factor * (term.b[out * term.rank + j] as number);
            offset += term.rank;
        }
        tensors.push({name: `${baseName}.lora_a`, ne: [nIn, rank], type: "F32", data: a});
        tensors.push({name: `${baseName}.lora_b`, ne: [rank, nOut], type: fitsF16(b) ? bType : "F32", data: b});
    }
    return {rank, tensors};
}

function fitsF16(values: Float32Array): boolean {
    for (const value of values) if (!(Math.abs(value) <= F16_LARGEST)) return false;
    return true;
}

/** Writes `lora` as one llama.cpp LoRA file to be loaded at scale 1; returns its rank. */
export async function writeFusedLora(
    filePath: string,
    lora: LoraTerms,
    options: {readonly name: string; readonly bType: FusedBType},
): Promise<number> {
    const {name, bType} = options;
    const {rank, tensors} = fusedLoraTensors(lora, bType);
    await writeGguf(filePath, {
        metadata: [
            ["general.type", ggufString("adapter")],
            ["general.architecture", ggufString(lora.architecture)],
            ["general.name", ggufString(name)],
            ["adapter.type", ggufString("lora")],
            ["adapter.lora.alpha", ggufF32(rank)],
        ],
        tensors,
    });
    return rank;
}
