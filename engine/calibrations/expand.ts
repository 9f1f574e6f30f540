// Turns a compact calibration into ordinary llama.cpp LoRA terms (docs/formats.md, section 4),
// because llama.cpp accepts no bias tensors but does accept one more LoRA:
// - LC:   Δ(x) = p (1^T A_cat x)  ->  per layer A_l = 1^T A_cat,l (1 x n_in), B_l = p;
// - LC++: Δ(x) = P2 (P1 x)        ->  A_l = P1, B_l = P2 in every layer.
// The terms are fused with the task adapters into one LoRA (adapters/fuse.ts, calibrations/
// fusedMix.ts), or written alone as the "expanded calibration" file (ranks zero-padded to 16,
// alpha = padded rank, loaded at scale 1) where a pass runs its LoRAs separately. It takes a
// VerifiedCalibration (verified.ts): its base and adapters were checked where it entered.

import {createHash} from "node:crypto";
import {join} from "node:path";
import {type LoraTerm, type LoraTerms, readHashedLoraTerms, writeFusedLora} from "../adapters/fuse";
import {firstValueOutOfRange, frobeniusNorm, LORA_STRENGTH_LIMIT, LORA_VALUE_LIMIT} from "../adapters/limits";
import {derivedFile} from "../files/derivedFile";
import type {BaseModelStructure} from "../model/fingerprint";
import type {LcParameters, LcppParameters} from "./format";
import {baseTensorName, MODULE_TYPES, type ModuleType} from "./moduleTypes";
import type {AdapterFile, VerifiedCalibration} from "./verified";

/** Part of every expanded file's name: bump it whenever the expansion's output would change. */
export const EXPANDER_VERSION = "composer-calibration-expander/2";

/** What building the terms can find wrong (the binding to base and adapters is verified.ts's). */
export type CalibrationExpansionErrorCode = "shape-mismatch" | "no-target" | "too-strong";

export class CalibrationExpansionError extends Error {
    override name = "CalibrationExpansionError";
    constructor(
        readonly code: CalibrationExpansionErrorCode,
        message: string,
    ) {
        super(message);
    }
}

/**
 * File name of an expansion: content-addressed, because llama.cpp caches adapters by path and
 * would silently keep stale weights if a changed input reused a name.
 */
export function expandedCalibrationFileName(calibrationSha256: string, adapterSha256s: readonly string[]): string {
    const hash = createHash("sha256")
        .update(`${EXPANDER_VERSION}\n${calibrationSha256}\n${adapterSha256s.join("\n")}\n`)
        .digest("hex");
    return `calibration-${hash}.lora.gguf`;
}

/** The name of `calibration`'s expanded file (expandedCalibrationFileName). */
export function expandedFileOf(calibration: VerifiedCalibration): string {
    return expandedCalibrationFileName(
        calibration.sha256,
        calibration.adapters.map((bound) => bound.adapter.sha256),
    );
}

/**
 * Returns the path of the expanded LoRA adapter for `calibration` in `cacheDir`, writing it
 * unless an intact copy (size and sha256 as recorded when it was written) is already there
 * (files/derivedFile.ts). LC reads its adapters' A's, each as the version that was hashed.
 */
export async function expandCalibration(
    calibration: VerifiedCalibration<AdapterFile>,
    base: BaseModelStructure,
    cacheDir: string,
): Promise<string> {
    const filePath = join(cacheDir, expandedFileOf(calibration));
    await derivedFile(filePath, async (temporary) => {
        const adapterTerms =
            calibration.kind === "lc"
                ? await Promise.all(calibration.adapters.map((bound) => readHashedLoraTerms(bound.adapter)))
                : [];
        const terms = calibrationTerms(calibration, adapterTerms, base);
        // F32: the separate form is the reference the fused one is measured against.
        await writeFusedLora(temporary, terms, {
            name: `calibration ${calibration.kind} ${calibration.sha256}`,
            bType: "F32",
        });
    });
    return filePath;
}

/**
 * The calibration's delta as LoRA terms (factor 1, unpadded ranks). `adapterTerms` are its
 * adapters' terms at scale 1, in its order: LC sums their A's; LC++ does not use them. Throws
 * what a file built from them would break (shapes, a pair beyond the strength limit).
 */
export function calibrationTerms(
    calibration: VerifiedCalibration,
    adapterTerms: readonly LoraTerms[],
    base: BaseModelStructure,
): LoraTerms {
    const {parameters} = calibration;
    if (parameters.kind === "lc" && adapterTerms.length !== calibration.adapters.length)
        throw new RangeError(
            `LC merges ${calibration.adapters.length} adapters; the terms of ${adapterTerms.length} were given`,
        );
    const terms = parameters.kind === "lc" ? expandLc(parameters, adapterTerms, base) : expandLcpp(parameters, base);
    for (const [baseName, list] of terms) for (const term of list) checkStrength(baseName, term);
    return {architecture: base.architecture, terms};
}

/**
 * The expanded pair is what llama.cpp runs (at scale 1, alpha = r): the same limits as any
 * adapter apply. LC's A is a sum over the adapters' A's, so only here is its strength known.
 */
function checkStrength(baseName: string, term: LoraTerm): void {
    const bad = Math.max(firstValueOutOfRange(term.a), firstValueOutOfRange(term.b));
    if (bad >= 0)
        throw new CalibrationExpansionError(
            "too-strong",
            `the expanded calibration for ${baseName} holds a value beyond ±${LORA_VALUE_LIMIT}; it would drive the model to Inf/NaN.`,
        );
    const strength = frobeniusNorm(term.a) * frobeniusNorm(term.b);
    if (!(strength <= LORA_STRENGTH_LIMIT))
        throw new CalibrationExpansionError(
            "too-strong",
            `the expanded calibration for ${baseName} has strength ‖A‖ * ‖B‖ = ${strength.toPrecision(3)}, above the limit ` +
                `${LORA_STRENGTH_LIMIT}: a change this large drives the model to Inf/NaN and empty text.`,
        );
}

/** The base weight `blk.<l>.<m>.weight` as (n_in, n_out), for every layer that has it. */
function targets(base: BaseModelStructure, moduleType: ModuleType): {name: string; nIn: number; nOut: number}[] {
    const found: {layer: number; name: string; nIn: number; nOut: number}[] = [];
    for (const [name, ne] of base.tensors) {
        const layer = /^blk\.(\d+)\./.exec(name)?.[1];
        if (layer === undefined || name !== baseTensorName(Number(layer), moduleType)) continue;
        const [nIn, nOut, ...rest] = ne;
        if (nIn === undefined || nOut === undefined || rest.some((n) => n !== 1))
            throw new CalibrationExpansionError("shape-mismatch", `base tensor ${name} is not a matrix: ne {${ne}}.`);
        found.push({layer: Number(layer), name, nIn, nOut});
    }
    if (found.length === 0)
        throw new CalibrationExpansionError("no-target", `the base model has no blk.*.${moduleType}.weight tensors.`);
    return found.sort((a, b) => a.layer - b.layer);
}

function expandLc(
    parameters: LcParameters,
    adapters: readonly LoraTerms[],
    base: BaseModelStructure,
): Map<string, LoraTerm[]> {
    const terms = new Map<string, LoraTerm[]>();
    for (const moduleType of MODULE_TYPES) {
        const p = parameters.p.get(moduleType);
        if (p === undefined) continue;
        for (const target of targets(base, moduleType)) {
            if (p.length !== target.nOut)
                throw new CalibrationExpansionError(
                    "shape-mismatch",
                    `cal.${moduleType}.p has ${p.length} entries, ${target.name} has n_out ${target.nOut}.`,
                );
            const rowSum = summedLoraARows(adapters, target.name, target.nIn);
            // No adapter touches this weight: 1^T A_cat x = 0, so the delta is exactly zero and
            // the pair would only cost two matmuls per token.
            if (rowSum === null) continue;
            terms.set(target.name, [
                {a: Float32Array.from(rowSum), b: p, rank: 1, nIn: target.nIn, nOut: target.nOut, factor: 1},
            ]);
        }
    }
    return terms;
}

/** Sum over all adapters and all their rank rows of `lora_a` for one base weight, or null if none has it. */
function summedLoraARows(adapters: readonly LoraTerms[], baseName: string, nIn: number): Float64Array | null {
    const sum = new Float64Array(nIn);
    let touched = false;
    for (const adapter of adapters) {
        for (const term of adapter.terms.get(baseName) ?? []) {
            if (term.nIn !== nIn)
                throw new CalibrationExpansionError(
                    "shape-mismatch",
                    `an adapter's ${baseName}.lora_a has rows of ${term.nIn}, the base tensor takes ${nIn}.`,
                );
            for (let row = 0; row < term.rank; row++)
                for (let column = 0; column < nIn; column++)
                    sum[column] = (sum[column] as number) + (term.a[row * nIn + column] as number);
            touched = true;
        }
    }
    return touched ? sum : null;
}

function expandLcpp(parameters: LcppParameters, base: BaseModelStructure): Map<string, LoraTerm[]> {
    const terms = new Map<string, LoraTerm[]>();
    for (const moduleType of MODULE_TYPES) {
        const p1 = parameters.p1.get(moduleType);
        const p2 = parameters.p2.get(moduleType);
        if (p1 === undefined || p2 === undefined) continue;
        const nIn = p1.length / parameters.rank;
        const nOut = p2.length / parameters.rank;
        for (const target of targets(base, moduleType)) {
            if (target.nIn !== nIn || target.nOut !== nOut)
                throw new CalibrationExpansionError(
                    "shape-mismatch",
                    `cal.${moduleType} maps ${nIn} -> ${nOut}, ${target.name} maps ${target.nIn} -> ${target.nOut}.`,
                );
            // The same P1, P2 in every layer (shared, not copied).
            terms.set(target.name, [{a: p1, b: p2, rank: parameters.rank, nIn, nOut, factor: 1}]);
        }
    }
    return terms;
}
