// What is installed, as the recipe builder sees it: valid adapters and calibrations only.
// Invalid files are reported through the log and left out; they never reach llama.cpp.

import type {AdapterStore} from "./adapters/store";
import type {CalibrationStore} from "./calibrations/store";
import {promptTemplate} from "./compose/prompt";
import type {InstalledAdapter, InstalledCalibration, Inventory} from "./compose/recipe";
import {sha256File} from "./files/sha256";
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
        const {manifest} = entry.adapter;
        adapters.push({
            id: manifest.id,
            chain: manifest.task,
            filePath: entry.adapter.ggufPath,
            sha256: entry.adapter.sha256,
            prompt: promptTemplate(manifest.promptTemplate, manifest.stopStrings),
        });
    }
    const calibrations: InstalledCalibration[] = [];
    for (const entry of await calibrationStore.list(base)) {
        if (entry.status === "invalid") {
            onLog?.("warn", `Calibration ${entry.path} is not usable: ${entry.reason}`);
            continue;
        }
        const {summary} = entry;
        calibrations.push({
            filePath: summary.path,
            // Small files (< 1 MB); the hash keys context reuse to the exact parameters.
            sha256: await sha256File(summary.path),
            chain: summary.chain,
            kind: summary.kind,
            adapterSha256: summary.adapters.map((a) => a.sha256),
            mergeWeights: summary.adapters.map((a) => a.mergeWeight),
            prompt: promptTemplate(summary.promptTemplate, summary.stopStrings),
        });
    }
    return {adapters, calibrations};
}
