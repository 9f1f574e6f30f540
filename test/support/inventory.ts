// Inventory values for tests that need no files (the recipe, the menus, the benchmark's cache
// keys): adapters with a made-up hashed file, and calibrations bound through the engine's own
// verifyCalibration, so a test inventory can hold only what the engine's could.

import {verifyCalibration} from "../../engine/calibrations/verified";
import {promptTemplate} from "../../engine/compose/prompt";
import type {InstalledAdapter, InstalledCalibration} from "../../engine/compose/recipe";
import {parseTaskChain} from "../../engine/compose/taskChain";
import type {FileVersion} from "../../engine/files/fileVersion";
import type {BaseModelStructure} from "../../engine/model/fingerprint";

/** The version of a file no test reads. */
export const UNREAD_VERSION: FileVersion = {dev: 0n, ino: 0n, size: 0n, mtimeNs: 0n};

/** A base model with no tensors: calibrations without parameters fit it. */
export const TEST_BASE: BaseModelStructure = {
    architecture: "gemma3",
    fingerprint: "f".repeat(64),
    name: "test base",
    tensors: new Map(),
};

export function testAdapter(
    task: string,
    sha256: string,
    prompt = promptTemplate(`<${task}>{input}</${task}>`, ["</s>"]),
    place: {readonly id?: string; readonly bundled?: boolean; readonly keptForCalibrations?: boolean} = {},
): InstalledAdapter {
    return {
        id: place.id ?? `test.${task}`,
        chain: parseTaskChain(task),
        filePath: `/adapters/${place.id ?? task}/adapter.gguf`,
        sha256,
        version: UNREAD_VERSION,
        prompt,
        bundled: place.bundled ?? true,
        keptForCalibrations: place.keptForCalibrations ?? false,
    };
}

/** A calibration for `chain` merging `adapters` at `weights`, bound to them as the engine binds one. */
export function testCalibration(
    kind: "lc" | "lc++",
    chain: string,
    adapters: readonly InstalledAdapter[],
    weights: readonly number[] = adapters.map(() => 1),
    template = `[${chain}] {input} =>`,
): InstalledCalibration {
    const verdict = verifyCalibration(
        {
            architecture: TEST_BASE.architecture,
            chain: parseTaskChain(chain),
            baseFingerprint: TEST_BASE.fingerprint,
            adapters: adapters.map((adapter, index) => ({
                id: adapter.id,
                sha256: adapter.sha256,
                mergeWeight: weights[index] ?? 1,
            })),
            promptTemplate: template,
            stopStrings: [],
            training: {},
            parameters: kind === "lc" ? {kind, p: new Map()} : {kind, rank: 4, p1: new Map(), p2: new Map()},
            file: {
                path: `/calibrations/${chain}.${kind}.gguf`,
                sha256: `${kind}-${chain}`,
                bytes: 0,
                version: UNREAD_VERSION,
            },
        },
        adapters,
        TEST_BASE,
    );
    if (!verdict.ok) throw verdict.error;
    return {...verdict.calibration, prompt: promptTemplate(template)};
}
