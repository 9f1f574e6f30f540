// One exact LoRA for a whole composite: the merged task adapters and the expanded calibration,
// concatenated along the rank with every scale folded into B.
//
//   sum_i s_i (alpha_i / r_i) B_i A_i x  =  B_f A_f x,  A_f = [A_1; A_2; ...],  B_f = [c_1 B_1 | c_2 B_2 | ...]
//
// with c_i = s_i * alpha_i / r_i (alpha 0 means no alpha/r factor, as in llama.cpp). Every tensor
// gets the same total rank R (zero-padded to a multiple of 16, the fast path) and alpha = R, so
// llama.cpp's own factor is 1. llama.cpp then runs one adapter (2 small matmuls per module)
// instead of one per file. Exact up to float summation order.

import {mkdir, rename} from "node:fs/promises";
import {dirname} from "node:path";
import {
    GgufTensorFile,
    type GgufTensorToWrite,
    ggufF32,
    ggufString,
    metaOptionalNumber,
    metaString,
    readGgufHeader,
    writeGguf,
} from "../engine/gguf";

export interface FuseInput {
    readonly filePath: string;
    readonly scale: number;
}

export interface FuseResult {
    readonly filePath: string;
    readonly rank: number;
    readonly tensors: number;
}

const RANK_MULTIPLE = 16;

interface Component {
    readonly a: Float32Array; // [r][nIn]
    readonly b: Float32Array; // [nOut][r]
    readonly rank: number;
    readonly factor: number;
}

export async function fuseLoras(inputs: readonly FuseInput[], outPath: string): Promise<FuseResult> {
    const components = new Map<string, {nIn: number; nOut: number; parts: Component[]}>();
    let architecture: string | undefined;
    for (const input of inputs) {
        const header = await readGgufHeader(input.filePath);
        architecture ??= metaString(header, "general.architecture");
        const alpha = metaOptionalNumber(header, "adapter.lora.alpha") ?? 0;
        const file = await GgufTensorFile.open(header);
        try {
            for (const info of header.tensors) {
                if (!info.name.endsWith(".lora_a")) continue;
                const baseName = info.name.slice(0, -".lora_a".length);
                if (baseName === "token_embd.weight")
                    throw new Error("fuseLoras: token_embd adapters are not supported");
                const bInfo = header.tensors.find((t) => t.name === `${baseName}.lora_b`);
                if (bInfo === undefined) throw new Error(`fuseLoras: ${input.filePath} has no ${baseName}.lora_b`);
                const [nIn = 0, rank = 0] = info.ne;
                const nOut = bInfo.ne[1] ?? 0;
                const factor = input.scale * (alpha > 0 ? alpha / rank : 1);
                const entry = components.get(baseName) ?? {nIn, nOut, parts: []};
                if (entry.nIn !== nIn || entry.nOut !== nOut)
                    throw new Error(`fuseLoras: ${baseName} shapes disagree between inputs`);
                entry.parts.push({a: await file.readF32(info), b: await file.readF32(bInfo), rank, factor});
                components.set(baseName, entry);
            }
        } finally {
            await file.close();
        }
    }
    if (architecture === undefined) throw new Error("fuseLoras: no inputs");
    let total = 0;
    for (const {parts} of components.values())
        total = Math.max(
            total,
            parts.reduce((sum, part) => sum + part.rank, 0),
        );
    const rank = Math.max(RANK_MULTIPLE, Math.ceil(total / RANK_MULTIPLE) * RANK_MULTIPLE);
    const tensors: GgufTensorToWrite[] = [];
    for (const [baseName, {nIn, nOut, parts}] of [...components.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
        const a = new Float32Array(rank * nIn);
        const b = new Float32Array(nOut * rank);
        let offset = 0;
        for (const part of parts) {
            a.set(part.a, offset * nIn);
            for (let out = 0; out < nOut; out++)
                for (let j = 0; j < part.rank; j++)
                    b[out * rank + offset + j] = part.factor * (part.b[out * part.rank + j] as number);
            offset += part.rank;
        }
        tensors.push({name: `${baseName}.lora_a`, ne: [nIn, rank], type: "F32", data: a});
        tensors.push({name: `${baseName}.lora_b`, ne: [rank, nOut], type: "F32", data: b});
    }
    await mkdir(dirname(outPath), {recursive: true});
    const temporary = `${outPath}.tmp-${process.pid}`;
    await writeGguf(temporary, {
        metadata: [
            ["general.type", ggufString("adapter")],
            ["general.architecture", ggufString(architecture)],
            ["general.name", ggufString(`fused LoRA of ${inputs.length} files`)],
            ["adapter.type", ggufString("lora")],
            ["adapter.lora.alpha", ggufF32(rank)],
        ],
        tensors,
    });
    await rename(temporary, outPath);
    return {filePath: outPath, rank, tensors: tensors.length};
}
