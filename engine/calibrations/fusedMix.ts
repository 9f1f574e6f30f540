// A pass's whole LoRA mix (its task adapters at their scales, and its calibration) as ONE LoRA
// file (adapters/fuse.ts), made once per mix and cached under the engine's cache folder. The
// file name is the hash of everything that goes in (format versions, base, adapter and
// calibration sha256s, scales); the file is verified (size + sha256) before reuse and rebuilt
// when damaged (files/derivedFile.ts).

import {createHash} from "node:crypto";
import {join} from "node:path";
import {combineLoraTerms, readLoraTerms, writeFusedLora} from "../adapters/fuse";
import {type DerivedFile, derivedFile} from "../files/derivedFile";
import type {BaseModelStructure} from "../model/fingerprint";
import {CalibrationExpansionError, calibrationTerms, EXPANDER_VERSION} from "./expand";
import {readCalibration} from "./read";

/** Part of every fused file's name: bump it whenever the fused output would change. */
export const FUSED_MIX_VERSION = "composer-fused-mix/1";

/** The files of one pass, as the inventory verified them (sha256), in the pass's order. */
export interface MixToFuse {
    readonly adapters: readonly {readonly filePath: string; readonly sha256: string; readonly scale: number}[];
    readonly calibration: {readonly filePath: string; readonly sha256: string} | null;
}

export function fusedMixFileName(mix: MixToFuse, base: Pick<BaseModelStructure, "fingerprint">): string {
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
        const parts = await Promise.all(mix.adapters.map((adapter) => readLoraTerms(adapter.filePath, adapter.scale)));
        if (mix.calibration !== null) {
            const stored = await readCalibration(mix.calibration.filePath);
            // The name promises these bytes: a calibration replaced on disk since the inventory
            // was read must not be fused under the old one's name.
            if (stored.file.sha256 !== mix.calibration.sha256)
                throw new CalibrationExpansionError(
                    "changed-on-disk",
                    `${mix.calibration.filePath} changed on disk since it was listed (sha256 ${stored.file.sha256.slice(0, 12)}…, listed ${mix.calibration.sha256.slice(0, 12)}…); refresh the engine.`,
                );
            const adapters = mix.adapters.map((adapter) => ({sha256: adapter.sha256, ggufPath: adapter.filePath}));
            parts.push(await calibrationTerms(stored, adapters, base));
        }
        await writeFusedLora(temporary, combineLoraTerms(parts), `fused mix of ${parts.length} LoRAs`);
    });
}
