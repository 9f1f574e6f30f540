// Small statistics for timings: medians over interleaved repetitions and their spread.

export interface Summary {
    readonly n: number;
    readonly median: number;
    readonly p25: number;
    readonly p75: number;
    readonly min: number;
    readonly max: number;
    /** (p75 - p25) / median: how noisy the samples were. */
    readonly relIqr: number;
}

export function quantile(sorted: readonly number[], q: number): number {
    if (sorted.length === 0) return Number.NaN;
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const a = sorted[lo] as number;
    const b = sorted[hi] as number;
    return a + (b - a) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
    const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    const p25 = quantile(sorted, 0.25);
    const p75 = quantile(sorted, 0.75);
    return {
        n: sorted.length,
        median,
        p25,
        p75,
        min: sorted[0] ?? Number.NaN,
        max: sorted[sorted.length - 1] ?? Number.NaN,
        relIqr: median > 0 ? (p75 - p25) / median : Number.NaN,
    };
}

export function mean(values: readonly number[]): number | null {
    const finite = values.filter((v) => Number.isFinite(v));
    return finite.length === 0 ? null : finite.reduce((a, b) => a + b, 0) / finite.length;
}

/** Rotates `items` by `by` places: interleaving so no method always runs first. */
export function rotate<T>(items: readonly T[], by: number): T[] {
    if (items.length === 0) return [];
    const k = ((by % items.length) + items.length) % items.length;
    return [...items.slice(k), ...items.slice(0, k)];
}
