// An independent float64 forward pass of a llama-architecture model, written from the math (and
// llama.cpp's LLM_ARCH_LLAMA graph), to check what llama.cpp computes with adapters loaded.
// It shares no code with the engine: calibration deltas are computed from the method's formulas
// (LC: p (1^T A_cat x); LC++: P2 (P1 x)), never from an expanded adapter file.

import type {LoraAdapterValues, TinyLlama} from "./tinyLlama";

/** An additive change to a linear layer's output: `h = W x + delta(name, x)`; null when it does not apply. */
export type LinearDelta = (weightName: string, x: Float64Array) => Float64Array | null;

/**
 * Where llama.cpp rounds a low-rank term to F16: nowhere (both halves F32), or, when B is stored
 * in F16 with its factor folded in (the engine's fused file), B and the intermediate A x, which
 * ggml converts to B's type before the product.
 */
export type TermPrecision = "f32" | "f16-b";

/** `scale * (alpha / r) * B (A x)`, as llama.cpp applies an adapter loaded with `scale`. */
export function loraDelta(adapter: LoraAdapterValues, scale: number, precision: TermPrecision = "f32"): LinearDelta {
    const factor = scale * (adapter.alpha / adapter.rank);
    return (weightName, x) => {
        const pair = adapter.pairs.get(weightName);
        if (pair === undefined) return null;
        const ax = matVec(pair.a, adapter.rank, pair.nIn, x);
        if (precision === "f16-b") {
            // The factor is folded into B (float32, then F16), as the fused file stores it.
            const folded = Float32Array.from(pair.b, (value) => roundToHalf(Math.fround(factor * value)));
            return matVec(folded, pair.nOut, adapter.rank, ax.map(roundToHalf));
        }
        const bax = matVec(pair.b, pair.nOut, adapter.rank, ax);
        for (let i = 0; i < bax.length; i++) bax[i] = (bax[i] as number) * factor;
        return bax;
    };
}

/** LC (method.md): `p_m (1^T A_cat x)`, with A_cat the unscaled A's of all merged adapters stacked over ranks. */
export function lcDelta(
    p: ReadonlyMap<string, Float32Array>,
    mergedAdapters: readonly LoraAdapterValues[],
    precision: TermPrecision = "f32",
): LinearDelta {
    const round = precision === "f16-b" ? roundToHalf : (value: number) => value;
    return (weightName, x) => {
        const moduleP = p.get(moduleTypeOf(weightName));
        if (moduleP === undefined) return null;
        let columnSum = 0; // 1^T A_cat x: every rank row of every adapter, dotted with x
        for (const adapter of mergedAdapters) {
            const pair = adapter.pairs.get(weightName);
            if (pair === undefined) continue;
            for (const value of matVec(pair.a, adapter.rank, pair.nIn, x)) columnSum += value;
        }
        return Float64Array.from(moduleP, (value) => round(value) * round(columnSum));
    };
}

/** LC++ (method.md): `P2_m (P1_m x)`, the same pair in every layer. */
export function lcppDelta(
    p1: ReadonlyMap<string, Float32Array>,
    p2: ReadonlyMap<string, Float32Array>,
    rank: number,
    precision: TermPrecision = "f32",
): LinearDelta {
    return (weightName, x) => {
        const moduleType = moduleTypeOf(weightName);
        const down = p1.get(moduleType);
        const up = p2.get(moduleType);
        if (down === undefined || up === undefined) return null;
        const p1x = matVec(down, rank, x.length, x);
        if (precision === "f16-b") return matVec(up.map(roundToHalf), up.length / rank, rank, p1x.map(roundToHalf));
        return matVec(up, up.length / rank, rank, p1x);
    };
}

/** `value` rounded to the nearest IEEE half (ties to even; beyond 65504: infinity), as a float64. */
export function roundToHalf(value: number): number {
    if (value === 0 || !Number.isFinite(value)) return value;
    const magnitude = Math.abs(value);
    let exponent = Math.floor(Math.log2(magnitude));
    if (2 ** exponent > magnitude) exponent--; // log2 can land one off near powers of two
    if (2 ** (exponent + 1) <= magnitude) exponent++;
    const spacing = 2 ** (Math.max(exponent, -14) - 10); // 10 fraction bits; subnormals below 2^-14
    const units = magnitude / spacing;
    const below = Math.floor(units);
    const rest = units - below;
    const rounded = (rest > 0.5 || (rest === 0.5 && below % 2 === 1) ? below + 1 : below) * spacing;
    return Math.sign(value) * (rounded > 65504 ? Number.POSITIVE_INFINITY : rounded);
}

function moduleTypeOf(weightName: string): string {
    return /^blk\.\d+\.(\w+)\.weight$/.exec(weightName)?.[1] ?? "";
}

/** `M x` for a row-major `[rows][cols]` float32 matrix, in float64. */
function matVec(matrix: Float32Array, rows: number, cols: number, x: Float64Array): Float64Array {
    if (matrix.length !== rows * cols || x.length !== cols)
        throw new Error(`shape mismatch: [${rows}][${cols}] matrix (${matrix.length} values) times ${x.length}-vector`);
    const out = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
        let sum = 0;
        const offset = row * cols;
        for (let col = 0; col < cols; col++) sum += (matrix[offset + col] as number) * (x[col] as number);
        out[row] = sum;
    }
    return out;
}

/**
 * Log-probabilities of every vocabulary entry as the next token after each position of `tokens`
 * (`result[i][v] = log p(v | tokens[0..i])`).
 */
export function referenceLogProbs(
    model: TinyLlama,
    tokens: readonly number[],
    deltas: readonly LinearDelta[] = [],
): Float64Array[] {
    const {config} = model;
    const headDim = config.nEmbd / config.nHead;
    const headsPerKv = config.nHead / config.nHeadKv;
    const weight = (name: string): Float32Array => {
        const tensor = model.weights.get(name);
        if (tensor === undefined) throw new Error(`model has no ${name}`);
        return tensor.data;
    };
    const linear = (name: string, x: Float64Array): Float64Array => {
        const tensor = model.weights.get(name);
        if (tensor === undefined) throw new Error(`model has no ${name}`);
        const [nIn, nOut] = tensor.ne as [number, number];
        const h = matVec(tensor.data, nOut, nIn, x);
        for (const delta of deltas) {
            const d = delta(name, x);
            if (d !== null) for (let i = 0; i < nOut; i++) h[i] = (h[i] as number) + (d[i] as number);
        }
        return h;
    };
    const rmsNorm = (x: Float64Array, gainName: string): Float64Array => {
        const gain = weight(gainName);
        let meanSquare = 0;
        for (const value of x) meanSquare += value * value;
        const inverse = 1 / Math.sqrt(meanSquare / x.length + config.rmsEps);
        return Float64Array.from(x, (value, i) => value * inverse * (gain[i] as number));
    };

    const nVocab = model.tokens.length;
    const embeddings = weight("token_embd.weight");
    let hidden: Float64Array[] = tokens.map((token) =>
        Float64Array.from(embeddings.subarray(token * config.nEmbd, (token + 1) * config.nEmbd)),
    );

    for (let layer = 0; layer < config.nLayer; layer++) {
        const block = `blk.${layer}`;
        const queries: Float64Array[] = [];
        const keys: Float64Array[] = [];
        const values: Float64Array[] = [];
        hidden.forEach((x, position) => {
            const normed = rmsNorm(x, `${block}.attn_norm.weight`);
            queries.push(rope(linear(`${block}.attn_q.weight`, normed), position, headDim, config.ropeFreqBase));
            keys.push(rope(linear(`${block}.attn_k.weight`, normed), position, headDim, config.ropeFreqBase));
            values.push(linear(`${block}.attn_v.weight`, normed));
        });
        hidden = hidden.map((x, position) => {
            const attended = new Float64Array(config.nHead * headDim);
            for (let head = 0; head < config.nHead; head++) {
                const kvOffset = Math.floor(head / headsPerKv) * headDim; // GQA: query heads share a KV head
                const query = (queries[position] as Float64Array).subarray(head * headDim, (head + 1) * headDim);
                const scores: number[] = [];
                for (let past = 0; past <= position; past++) {
                    const key = (keys[past] as Float64Array).subarray(kvOffset, kvOffset + headDim);
                    scores.push(dot(query, key) / Math.sqrt(headDim));
                }
                const weights = softmax(scores);
                for (let past = 0; past <= position; past++) {
                    const value = values[past] as Float64Array;
                    for (let d = 0; d < headDim; d++)
                        attended[head * headDim + d] =
                            (attended[head * headDim + d] as number) +
                            (weights[past] as number) * (value[kvOffset + d] as number);
                }
            }
            const afterAttention = add(x, linear(`${block}.attn_output.weight`, attended));
            const normed = rmsNorm(afterAttention, `${block}.ffn_norm.weight`);
            const gate = linear(`${block}.ffn_gate.weight`, normed);
            const up = linear(`${block}.ffn_up.weight`, normed);
            const activated = Float64Array.from(gate, (g, i) => (g / (1 + Math.exp(-g))) * (up[i] as number));
            return add(afterAttention, linear(`${block}.ffn_down.weight`, activated));
        });
    }

    return hidden.map((x) => {
        const logits = linear("output.weight", rmsNorm(x, "output_norm.weight"));
        if (logits.length !== nVocab) throw new Error("output.weight does not map to the vocabulary");
        return logSoftmax(logits);
    });
}

/**
 * llama.cpp's "normal" RoPE (LLAMA_ROPE_TYPE_NORM, used by LLM_ARCH_LLAMA): within each head,
 * adjacent pairs (2i, 2i+1) rotate by position * base^(-2i/headDim).
 */
function rope(x: Float64Array, position: number, headDim: number, base: number): Float64Array {
    const out = new Float64Array(x.length);
    for (let headStart = 0; headStart < x.length; headStart += headDim) {
        for (let i = 0; i < headDim; i += 2) {
            const theta = position * base ** (-i / headDim);
            const cos = Math.cos(theta);
            const sin = Math.sin(theta);
            const x0 = x[headStart + i] as number;
            const x1 = x[headStart + i + 1] as number;
            out[headStart + i] = x0 * cos - x1 * sin;
            out[headStart + i + 1] = x0 * sin + x1 * cos;
        }
    }
    return out;
}

function dot(a: Float64Array, b: Float64Array): number {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
    return sum;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
    return Float64Array.from(a, (value, i) => value + (b[i] as number));
}

function softmax(scores: readonly number[]): number[] {
    const max = Math.max(...scores);
    const exps = scores.map((score) => Math.exp(score - max));
    const sum = exps.reduce((total, value) => total + value, 0);
    return exps.map((value) => value / sum);
}

function logSoftmax(logits: Float64Array): Float64Array {
    let max = -Infinity;
    for (const value of logits) max = Math.max(max, value);
    let sum = 0;
    for (const value of logits) sum += Math.exp(value - max);
    const logSum = max + Math.log(sum);
    return Float64Array.from(logits, (value) => value - logSum);
}
