// A crafted pack on the real base model for engine tests: two task adapters (summarize,
// translate:fr; random weights of the real shapes) and an LC++ calibration of their composite.

import {mkdir} from "node:fs/promises";
import {join} from "node:path";
import {craftAdapter, randomLcppParameters} from "../../craft/gguf";
import {calibrationFileName} from "../../engine/calibrations/format";
import {calibrationFolderName} from "../../engine/calibrations/store";
import {writeCalibration} from "../../engine/calibrations/write";
import {parseTaskChain} from "../../engine/compose/taskChain";
import type {BaseModelStructure} from "../../engine/model/fingerprint";

export const SUMMARIZE_FRENCH = parseTaskChain("summarize,translate:fr");

/** Writes the pack under `work`; returns the folders to give the engine. */
export async function craftSummarizeFrenchPack(
    work: string,
    base: BaseModelStructure,
): Promise<{adapterDir: string; calibrationDir: string}> {
    const adapterDir = join(work, "adapters");
    const summarize = await craftAdapter(join(adapterDir, "test.summarize"), base, {task: "summarize", seed: 1});
    const french = await craftAdapter(join(adapterDir, "test.translate-fr"), base, {task: "translate:fr", seed: 2});
    const calibrationDir = join(work, "calibrations");
    await mkdir(join(calibrationDir, calibrationFolderName(base)), {recursive: true});
    await writeCalibration(
        join(calibrationDir, calibrationFolderName(base), calibrationFileName(SUMMARIZE_FRENCH, "lc++")),
        {
            architecture: base.architecture,
            chain: SUMMARIZE_FRENCH,
            baseFingerprint: base.fingerprint,
            adapters: [
                {id: "test.summarize", sha256: summarize.sha256, mergeWeight: 0.9},
                {id: "test.translate-fr", sha256: french.sha256, mergeWeight: 0.8},
            ],
            promptTemplate: "<start_of_turn>user\nSummarize in French:\n\n{input}<end_of_turn>\n<start_of_turn>model\n",
            stopStrings: ["<end_of_turn>"],
            training: {crafted: true},
            parameters: randomLcppParameters(base, 4, 3, 0.02),
        },
    );
    return {adapterDir, calibrationDir};
}
