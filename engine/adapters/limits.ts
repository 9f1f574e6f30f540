// Bounds on the numbers inside adapters and calibrations. Finite is not enough: an adapter filled
// with 65504 or a merge weight of 1e30 passes a finiteness check and then turns every activation
// into Inf/NaN inside llama.cpp, which answers with empty text and no error. These limits refuse
// such files before install, far above anything training produces (docs/formats.md, "Limits").
//
// Measured on the pack (adapters/, calibrations/): the largest |value| is 0.08, the largest pair
// strength (alpha / r) * ‖A‖_F * ‖B‖_F is 2.4, every merge weight is 1. On the default model a
// rank-1 adapter of strength 1,000 on every linear module of every layer still gave finite
// (garbled) text; strength 10,000 gave empty text (NaN logits).

/** Largest |value| in any adapter or calibration tensor (12,000x the largest trained one). */
export const LORA_VALUE_LIMIT = 1000;
/**
 * Largest strength of one LoRA pair, (alpha / r) * ‖A‖_F * ‖B‖_F, an upper bound of the spectral
 * norm of the weight change it makes (40x the strongest trained pair).
 */
export const LORA_STRENGTH_LIMIT = 100;
/**
 * Largest merge weight (scale) a calibration may give a task adapter: with the strength limit, a
 * merged adapter changes a weight by at most 1,000, the strength still measured finite.
 */
export const MERGE_WEIGHT_LIMIT = 10;

/** Euclidean (Frobenius) norm, accumulated in float64. */
export function frobeniusNorm(values: ArrayLike<number>): number {
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
        const value = values[i] as number;
        sum += value * value;
    }
    return Math.sqrt(sum);
}

/** First index whose value is non-finite or beyond ±LORA_VALUE_LIMIT, or -1. */
export function firstValueOutOfRange(values: ArrayLike<number>): number {
    for (let i = 0; i < values.length; i++) {
        const value = values[i] as number;
        // Written so that NaN fails too (every comparison with NaN is false).
        if (!(value <= LORA_VALUE_LIMIT && value >= -LORA_VALUE_LIMIT)) return i;
    }
    return -1;
}

/** Why `value` cannot be a merge weight, or null. */
export function mergeWeightProblem(value: number): string | null {
    if (!Number.isFinite(value)) return `merge weight ${value} is not finite`;
    if (!(value > 0 && value <= MERGE_WEIGHT_LIMIT))
        return `merge weight ${value} is outside (0, ${MERGE_WEIGHT_LIMIT}] (trained calibrations use 1)`;
    return null;
}
