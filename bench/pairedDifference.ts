// Is one method ahead of another on the same inputs? With 10-50 inputs and noisy per-input scores a
// difference of means says little on its own, so each comparison carries a paired percentile
// bootstrap interval: inputs are resampled with replacement, keeping each input's two scores
// together, and the interval is seeded so a report re-renders with the same numbers.

import {seededRandom} from "../craft/seededRandom";
import {quantile} from "./stats";

export type Verdict = "ahead" | "behind" | "within noise";

export interface PairedDifference {
    /** Inputs scored under both methods. */
    readonly n: number;
    /** Mean over inputs of (method - baseline). */
    readonly mean: number;
    /** Bounds of the bootstrap interval for that mean. */
    readonly low: number;
    readonly high: number;
    readonly level: number;
    /** "ahead" when the whole interval is above 0, "behind" when below, else "within noise". */
    readonly verdict: Verdict;
}

export interface BootstrapOptions {
    readonly resamples?: number;
    readonly level?: number;
    readonly seed?: number;
}

/** `method[i]` and `baseline[i]` score the same input; at least two inputs. */
export function pairedDifference(
    method: readonly number[],
    baseline: readonly number[],
    {resamples = 4000, level = 0.95, seed = 1}: BootstrapOptions = {},
): PairedDifference {
    if (method.length !== baseline.length) throw new Error("paired scores need the same inputs on both sides");
    const n = method.length;
    if (n < 2) throw new Error("a paired interval needs at least two inputs");
    const differences = method.map((m, i) => m - (baseline[i] as number));
    const average = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const random = seededRandom(seed);
    const means: number[] = [];
    for (let r = 0; r < resamples; r++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += differences[Math.floor(random.uniform() * n)] as number;
        means.push(sum / n);
    }
    means.sort((a, b) => a - b);
    const low = quantile(means, (1 - level) / 2);
    const high = quantile(means, 1 - (1 - level) / 2);
    const verdict: Verdict = low > 0 ? "ahead" : high < 0 ? "behind" : "within noise";
    return {n, mean: average(differences), low, high, level, verdict};
}
