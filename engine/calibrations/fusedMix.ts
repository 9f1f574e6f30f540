// A pass's whole LoRA mix (its task adapters at their scales, and its calibration) as ONE LoRA
// file (adapters/fuse.ts), made once per mix and cached under the engine's cache folder. The
// file name is the hash of everything that goes in (format versions, base, adapter and
// calibration sha256s, scales); the file is verified (size + sha256) before reuse and rebuilt
// when damaged (files/derivedFile.ts). Its inputs are verified values: adapter files as hashed
// when they were listed, and a VerifiedCalibration, whose parameters are the bytes its hash names.

import {createHash} from "node:crypto";
import {join} from "node:path";
import {combineLoraTerms, type LoraTerms, readHashedLoraTerms, scaleLoraTerms, writeFusedLora} from "../adapters/fuse";
import {type DerivedFile, derivedFile} from "../files/derivedFile";
import type {HashedFile} from "../files/sha256";
import type {BaseModelStructure} from "../model/fingerprint";
import {calibrationTerms, EXPANDER_VERSION} from "./expand";
import type {AdapterFile, VerifiedCalibration} from "./verified";

/** Part of every fused file's name: bump it whenever the fused output would change. */
export const FUSED_MIX_VERSION = "composer-fused-mix/2-b-f16";

/** What names a fused file: the inputs' sha256s and scales, in the pass's order. */
export interface MixIdentity {
    readonly adapters: readonly {readonly sha256: string; readonly scale: number}[];
    readonly calibration: {readonly sha256: string} | null;
}

/** The files of one pass, as listed and verified, in the pass's order. */
export interface MixToFuse extends MixIdentity {
    readonly adapters: readonly (HashedFile & {readonly scale: number})[];
    readonly calibration: VerifiedCalibration<AdapterFile> | null;
}

export function fusedMixFileName(mix: MixIdentity, base: Pick<BaseModelStructure, "fingerprint">): string {
    const description = {
        version: FUSED_MIX_VERSION,
        expander: mix.calibration === null ? null : EXPANDER_VERSION,
        base: base.fingerprint,
        adapters: mix.adapters.map((adapter) => [adapter.sha256, adapter.scale]),
        calibration: mix.calibration?.sha256 ?? null,
    };
    return `fused-${createHash("sha256").update(JSON.stringify(description)).digest("hex")}.lora.gguf`;
}

/** The fused LoRA file of `mix` in `cacheDir` (to be loaded at scale 1), built unless an intact one is there. */
export async function fuseMix(mix: MixToFuse, base: BaseModelStructure, cacheDir: string): Promise<DerivedFile> {
    if (mix.adapters.length + (mix.calibration === null ? 0 : 1) < 2)
        throw new RangeError("a mix of fewer than two LoRA files is already one LoRA: nothing to fuse");
    return derivedFile(join(cacheDir, fusedMixFileName(mix, base)), async (temporary) => {
        // Each adapter file is read once, at scale 1: scaled for the mix, and as it is for LC's sum of A's.
        const read = new Map<string, Promise<LoraTerms>>();
        const termsOf = (file: HashedFile) => {
            const known = read.get(file.sha256) ?? readHashedLoraTerms(file);
            read.set(file.sha256, known);
            return known;
        };
        const parts = await Promise.all(
            mix.adapters.map(async (adapter) => scaleLoraTerms(await termsOf(adapter), adapter.scale)),
        );
        const {calibration} = mix;
        if (calibration !== null) {
            const adapterTerms =
                calibration.kind === "lc"
                    ? await Promise.all(calibration.adapters.map((bound) => termsOf(bound.adapter)))
                    : [];
            parts.push(calibrationTerms(calibration, adapterTerms, base));
        }
        // B_f in F16: on an AMX Xeon LC++ decoded at 0.84-0.88 of a single adapter with an F32 file
        // and 0.92-0.93 with this one, the paper suite within noise (docs/base-model.md).
        await writeFusedLora(temporary, combineLoraTerms(parts), {
            name: `fused mix of ${parts.length} LoRAs`,
            bType: "F16",
        });
    });
}
