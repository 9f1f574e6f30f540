// What is installed, as the recipe builder sees it: valid adapters and usable calibrations only,
// each checked here, where it enters the engine, and carried on as a verified value (an adapter
// with its hashed file, a calibration bound to those adapters). Invalid files are reported
// through the log and left out; they never reach llama.cpp. Both stores check a file once per
// version, so a refresh after an install reads only what changed.

import type {AdapterStore} from "./adapters/store";
import type {CalibrationStore} from "./calibrations/store";
import {promptTemplate} from "./compose/prompt";
import type {InstalledAdapter, InstalledCalibration, Inventory} from "./compose/recipe";
import type {BaseModelStructure} from "./model/fingerprint";

export type InventoryLog = (level: string, message: string) => void;

export async function loadInventory(
    adapterStore: AdapterStore,
    calibrationStore: CalibrationStore,
    base: BaseModelStructure,
    onLog?: InventoryLog,
): Promise<Inventory> {
    const adapters: InstalledAdapter[] = [];
    for (const entry of await adapterStore.list(base)) {
        if (entry.status === "invalid") {
            onLog?.("warn", `Adapter "${entry.id}" in ${entry.dir} is not usable: ${entry.error.message}`);
            continue;
        }
        const {manifest, ggufPath, sha256, version} = entry.adapter;
        adapters.push({
            id: manifest.id,
            chain: manifest.task,
            filePath: ggufPath,
            sha256,
            version,
            prompt: promptTemplate(manifest.promptTemplate, manifest.stopStrings),
            bundled: entry.bundled,
            keptForCalibrations: manifest.keptForCalibrations,
        });
    }
    const {verified, refused} = await calibrationStore.verifiedFor(base, adapters);
    // A calibration for an adapter that is not installed is expected (a partial pack); anything else is a fault.
    for (const {path, code, reason} of refused)
        onLog?.(code === "adapter-missing" ? "info" : "warn", `Calibration ${path} is not usable: ${reason}`);
    const calibrations: InstalledCalibration[] = verified.map((calibration) => ({
        ...calibration,
        prompt: promptTemplate(calibration.promptTemplate, calibration.stopStrings),
    }));
    return {adapters, calibrations, refusedCalibrations: refused};
}
