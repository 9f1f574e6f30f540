// A random-but-valid pack with the real shapes: rank-16 task adapters on all 7 modules (as the
// lab trains them), LC and rank-4 LC++ calibrations, optionally joint experts. Speed depends only
// on shapes, so until the lab's trained pack is installed the speed run uses one of these; the
// quick mode uses one to run every method end to end. Seeded: the same bytes on every run.

import {mkdir} from "node:fs/promises";
import {join} from "node:path";
import {craftAdapter} from "../craft/gguf";
import {randomVector, seededRandom} from "../craft/seededRandom";
import {type Calibration, calibrationFileName} from "../engine/calibrations/format";
import {MODULE_TYPES, type ModuleType} from "../engine/calibrations/moduleTypes";
import {calibrationFolderName} from "../engine/calibrations/store";
import {writeCalibration} from "../engine/calibrations/write";
import {chainPrompt} from "../engine/compose/prompt";
import {type ChainKey, chainTasks, parseTaskChain, type TaskId} from "../engine/compose/taskChain";
import {GgmlType, metaOptionalNumber, readGgufHeader} from "../engine/gguf";
import type {BaseModelStructure} from "../engine/model/fingerprint";

export interface CraftedPack {
    readonly adapterDir: string;
    readonly calibrationDir: string;
    readonly description: string;
}

export interface CraftPackOptions {
    /** Composites that get an LC and an LC++ calibration over their task adapters. */
    readonly calibrated: readonly ChainKey[];
    /** Composites that get a rank-16 joint-expert adapter. */
    readonly jointExperts?: readonly ChainKey[];
    readonly lcppRank?: number;
    /** Per task, the shape of the installed (trained) adapter to mimic; default rank 16, alpha 32, F32. */
    readonly shapes?: ReadonlyMap<string, AdapterShape>;
}

export interface AdapterShape {
    readonly rank: number;
    readonly alpha: number;
    readonly tensorType: "F32" | "F16";
}

/** Rank, alpha and tensor type of an adapter file (the first LoRA pair). */
export async function adapterShape(ggufPath: string): Promise<AdapterShape> {
    const header = await readGgufHeader(ggufPath);
    const a = header.tensors.find((t) => t.name.endsWith(".lora_a"));
    if (a === undefined) throw new Error(`${ggufPath} has no LoRA tensors`);
    return {
        rank: a.ne[1] ?? 0,
        alpha: metaOptionalNumber(header, "adapter.lora.alpha") ?? 0,
        tensorType: a.type === GgmlType.F16 ? "F16" : "F32",
    };
}

function adapterId(task: string): string {
    return `bench.${task.replaceAll(":", "-").replaceAll("+", "-")}`;
}

function randomCalibration(base: BaseModelStructure, kind: "lc" | "lc++", rank: number, seed: number) {
    const random = seededRandom(seed);
    const shape = (module: ModuleType) => base.tensors.get(`blk.0.${module}.weight`) ?? [0, 0];
    if (kind === "lc") {
        const p = new Map<ModuleType, Float32Array>();
        for (const module of MODULE_TYPES) p.set(module, randomVector(shape(module)[1] ?? 0, 0.02, random));
        return {kind, p} as const;
    }
    const p1 = new Map<ModuleType, Float32Array>();
    const p2 = new Map<ModuleType, Float32Array>();
    for (const module of MODULE_TYPES) {
        const [nIn = 0, nOut = 0] = shape(module);
        p1.set(module, randomVector(rank * nIn, 0.02, random));
        p2.set(module, randomVector(nOut * rank, 0.02, random));
    }
    return {kind, rank, p1, p2} as const;
}

export async function craftPack(
    dir: string,
    base: BaseModelStructure,
    options: CraftPackOptions,
): Promise<CraftedPack> {
    const adapterDir = join(dir, "adapters");
    const calibrationDir = join(dir, "calibrations");
    const tasks = new Set<TaskId>();
    for (const key of options.calibrated) for (const task of chainTasks(parseTaskChain(key))) tasks.add(task);
    const sha = new Map<string, string>();
    let seed = 100;
    for (const task of [...tasks].sort()) {
        const prompt = chainPrompt(parseTaskChain(task));
        const crafted = await craftAdapter(
            join(adapterDir, adapterId(task)),
            base,
            {
                id: adapterId(task),
                task,
                ...(options.shapes?.get(task) ?? {rank: 16, alpha: 32, tensorType: "F32"}),
                seed: seed++,
            },
            {manifest: {promptTemplate: prompt.template, licence: "random weights for benchmarking shapes only"}},
        );
        sha.set(task, crafted.sha256);
    }
    for (const key of options.jointExperts ?? []) {
        const prompt = chainPrompt(parseTaskChain(key));
        await craftAdapter(
            join(adapterDir, adapterId(key)),
            base,
            {id: adapterId(key), task: key, rank: 16, seed: seed++},
            {manifest: {promptTemplate: prompt.template, licence: "random weights for benchmarking shapes only"}},
        );
    }
    const folder = join(calibrationDir, calibrationFolderName(base));
    await mkdir(folder, {recursive: true});
    const rank = options.lcppRank ?? 4;
    for (const key of options.calibrated) {
        const chain = parseTaskChain(key);
        const members = chainTasks(chain);
        for (const kind of ["lc", "lc++"] as const) {
            const calibration: Calibration = {
                architecture: base.architecture,
                chain,
                baseFingerprint: base.fingerprint,
                adapters: members.map((task) => ({id: adapterId(task), sha256: sha.get(task) ?? "", mergeWeight: 0.5})),
                promptTemplate: chainPrompt(chain).template,
                stopStrings: ["<end_of_turn>"],
                training: {crafted: true, note: "random parameters: for speed and plumbing only"},
                parameters: randomCalibration(base, kind, rank, seed++),
            };
            await writeCalibration(join(folder, calibrationFileName(chain, kind)), calibration);
        }
    }
    return {
        adapterDir,
        calibrationDir,
        description: `crafted (random, seeded) task adapters on all 7 modules (${[...tasks]
            .sort()
            .map((task) => {
                const shape = options.shapes?.get(task);
                return shape
                    ? `${task}: rank ${shape.rank} ${shape.tensorType}, like the installed one`
                    : `${task}: rank 16 F32`;
            })
            .join("; ")}), LC and rank-${rank} LC++ calibrations for ${options.calibrated.length} composites`,
    };
}
