// The LoRA files a pass runs with, as llama.cpp is given them (compose/composer.ts asks once per
// pass and request): a mix of two or more files is ONE fused file (calibrations/fusedMix.ts), a
// task adapter alone is given under its content-addressed name (runtime/loraFiles.ts), and the
// separate form (kept to measure the two) loads each adapter and the expanded calibration. Its
// inputs are the recipe's verified values (adapters as hashed when listed, calibrations bound to
// them), so it hashes nothing and checks no binding again. A derived file is made or verified
// once per process and name; later requests only check that it is still the version made.
// Derived files nothing installed runs with (an adapter replaced, a pack upgraded: ~22 MB per
// fused mix) are forgotten once unused for an hour (pruneDerived).

import {join} from "node:path";
import {expandCalibration, expandedFileOf} from "./calibrations/expand";
import {fusedMixFileName, fuseMix, type MixToFuse} from "./calibrations/fusedMix";
import {type LoraForm, type PassMixes, passForm} from "./compose/composer";
import {type InstalledAdapter, type InstalledCalibration, mixKey, type Pass} from "./compose/recipe";
import {pruneDerivedFiles} from "./files/derivedFile";
import {type FileVersion, fileVersion, sameVersion} from "./files/fileVersion";
import type {BaseModelStructure} from "./model/fingerprint";
import type {ContextMix} from "./runtime/contextPool";
import {ContentAddressedLoras} from "./runtime/loraFiles";

/** The derived files this cache folder holds: fused mixes and expanded calibrations (fusedMix.ts, expand.ts). */
const DERIVED_NAME = /^(fused|calibration)-[0-9a-f]{64}\.lora\.gguf$/;
/** A derived file used this recently stays even if unneeded here: another engine process may run it. */
const DERIVED_UNUSED_MS = 60 * 60 * 1000;

interface MadeFile {
    readonly path: string;
    readonly version: FileVersion | null;
}

export class PassLoras implements PassMixes {
    /** Derived files (fused mixes, expanded calibrations) by name, as made or verified in this process. */
    private readonly made = new Map<string, Promise<MadeFile>>();
    private readonly adapterLinks: ContentAddressedLoras;

    constructor(
        private readonly base: BaseModelStructure,
        private readonly cacheDir: string,
    ) {
        this.adapterLinks = new ContentAddressedLoras(join(cacheDir, "adapters"));
    }

    async mix(pass: Pass, form: LoraForm): Promise<ContextMix> {
        if (passForm(pass, form) === "fused")
            return {key: `${mixKey(pass)}|fused`, loras: [{filePath: await this.fused(pass), scale: 1}]};
        const loras = await Promise.all(
            pass.adapters.map(async (use) => ({
                filePath: await this.adapterLinks.pathFor(use.adapter),
                scale: use.scale,
            })),
        );
        if (pass.calibration !== null) loras.push({filePath: await this.expanded(pass.calibration), scale: 1});
        return {key: mixKey(pass), loras};
    }

    /** Forgets content-addressed links of adapters no longer installed (loraFiles.ts). */
    prune(installed: readonly InstalledAdapter[]): Promise<void> {
        return this.adapterLinks.prune(new Set(installed.map((adapter) => adapter.sha256)));
    }

    /**
     * Deletes the derived files in the cache that none of `passes` runs with fused and this process
     * has not made or verified, unless used in the last hour; returns the names deleted.
     */
    pruneDerived(passes: readonly Pass[], unusedForMs = DERIVED_UNUSED_MS): Promise<string[]> {
        const needed = passes.filter((pass) => passForm(pass, "fused") === "fused");
        const keep = new Set([...this.made.keys(), ...needed.map((pass) => fusedMixFileName(mixOf(pass), this.base))]);
        return pruneDerivedFiles(this.cacheDir, {owns: (name) => DERIVED_NAME.test(name), keep, unusedForMs});
    }

    private fused(pass: Pass): Promise<string> {
        const mix = mixOf(pass);
        return this.derived(fusedMixFileName(mix, this.base), async () => {
            const fused = await fuseMix(mix, this.base, this.cacheDir);
            return fused.filePath;
        });
    }

    private expanded(calibration: InstalledCalibration): Promise<string> {
        return this.derived(expandedFileOf(calibration), () =>
            expandCalibration(calibration, this.base, this.cacheDir),
        );
    }

    /**
     * A derived file (files/derivedFile.ts) made or verified (size and hash) once per process and
     * name; later requests only check that it is the version made, else it is verified again.
     * A failure is not remembered: the next request tries again.
     */
    private async derived(name: string, make: () => Promise<string>): Promise<string> {
        const known = this.made.get(name);
        if (known !== undefined) {
            const file = await known;
            if (sameVersion(file.version, await fileVersion(file.path))) return file.path;
            if (this.made.get(name) === known) this.made.delete(name);
        }
        let making = this.made.get(name);
        if (making === undefined) {
            const started = make().then(async (path) => ({path, version: await fileVersion(path)}));
            started.catch(() => {
                if (this.made.get(name) === started) this.made.delete(name);
            });
            this.made.set(name, started);
            making = started;
        }
        return (await making).path;
    }
}

function mixOf(pass: Pass): MixToFuse {
    return {
        adapters: pass.adapters.map((use) => ({...use.adapter, scale: use.scale})),
        calibration: pass.calibration,
    };
}
