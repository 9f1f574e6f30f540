// Deterministic random numbers for crafted files and samples (mulberry32 + Box-Muller): the same
// seed gives the same model or adapter bytes, or the same bootstrap, on any machine, so a failing
// test or a benchmark number can be reproduced exactly.

export interface SeededRandom {
    uniform(): number;
    normal(): number;
}

export function seededRandom(seed: number): SeededRandom {
    let state = seed >>> 0;
    const uniform = (): number => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const normal = (): number => {
        const u = Math.max(uniform(), 1e-12);
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    };
    return {uniform, normal};
}

/** `length` samples of mean + std * N(0, 1). */
export function randomVector(
    length: number,
    std: number,
    random: Pick<SeededRandom, "normal">,
    mean = 0,
): Float32Array {
    const values = new Float32Array(length);
    for (let i = 0; i < length; i++) values[i] = mean + std * random.normal();
    return values;
}
