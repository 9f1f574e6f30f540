// Table 2: per method, inference passes, extra parameters and bytes on disk per composite task,
// and their share of a joint-expert LoRA, counted from the real files of the pack in use.

import {stat} from "node:fs/promises";
import {MODULE_TYPES} from "../engine/calibrations/moduleTypes";
import type {Method} from "../engine/compose/methods";
import type {Inventory} from "../engine/compose/recipe";
import {chainKey, isComposite} from "../engine/compose/taskChain";
import {readGgufHeader} from "../engine/gguf";
import type {BaseModelStructure} from "../engine/model/fingerprint";
import {adapterShape} from "./craftPack";

export interface EfficiencyRow {
    readonly method: Method;
    readonly passes: number;
    readonly extraParams: number;
    readonly extraBytes: number;
    readonly percentOfJointExpert: number;
    /** Where the numbers come from: "none needed", "file: ...", or "computed: ...". */
    readonly source: string;
}

export interface Efficiency {
    readonly jointExpertParams: number;
    readonly jointExpertSource: string;
    readonly taskAdapters: readonly {id: string; chain: string; params: number; bytes: number}[];
    readonly rows: readonly EfficiencyRow[];
}

export async function ggufParams(filePath: string): Promise<{params: number; bytes: number}> {
    const header = await readGgufHeader(filePath);
    const params = header.tensors.reduce((sum, t) => sum + t.ne.reduce((a, b) => a * b, 1), 0);
    return {params, bytes: (await stat(filePath)).size};
}

/** Parameters of a rank-r LoRA on all 7 linear module types of every layer. */
export function loraParams(base: BaseModelStructure, rank: number): number {
    let total = 0;
    for (const [name, ne] of base.tensors) {
        const module = /^blk\.\d+\.([a-z_]+)\.weight$/.exec(name)?.[1];
        if (module === undefined || !(MODULE_TYPES as readonly string[]).includes(module)) continue;
        total += rank * ((ne[0] ?? 0) + (ne[1] ?? 0));
    }
    return total;
}

export async function measureEfficiency(
    inventory: Inventory,
    base: BaseModelStructure,
    methods: readonly Method[],
): Promise<Efficiency> {
    const taskAdapters = [];
    const joint: {params: number; bytes: number; path: string}[] = [];
    for (const adapter of inventory.adapters) {
        const size = await ggufParams(adapter.filePath);
        if (isComposite(adapter.chain)) joint.push({...size, path: adapter.filePath});
        else taskAdapters.push({id: adapter.id, chain: chainKey(adapter.chain), ...size});
    }
    const computedJoint = loraParams(base, 16);
    const firstTask = inventory.adapters.find((a) => !isComposite(a.chain));
    const bytesPerParam = firstTask && (await adapterShape(firstTask.filePath)).tensorType === "F16" ? 2 : 4;
    const jointExpertParams = joint[0]?.params ?? computedJoint;
    const jointExpertSource = joint[0]
        ? `file: ${joint[0].path}`
        : `computed: rank 16 on all 7 modules of ${base.name} (no joint expert installed)`;
    const calibrationSizes = async (kind: "lc" | "lc++") => {
        const found = inventory.calibrations.filter((c) => c.kind === kind);
        const first = found[0];
        return first ? {...(await ggufParams(first.filePath)), path: first.filePath, count: found.length} : null;
    };
    const lc = await calibrationSizes("lc");
    const lcpp = await calibrationSizes("lc++");
    const passesOf = (method: Method) => (method === "multi-step" ? 2 : 1);
    const rows: EfficiencyRow[] = [];
    for (const method of methods) {
        let extraParams = 0;
        let extraBytes = 0;
        let source = "none needed (shares the single-task adapters)";
        if (method === "zero-shot") source = "none needed";
        if (method === "joint-expert") {
            extraParams = jointExpertParams;
            extraBytes = joint[0]?.bytes ?? computedJoint * bytesPerParam;
            source = joint[0]
                ? jointExpertSource
                : `${jointExpertSource}; bytes = ${bytesPerParam === 2 ? "F16" : "F32"} tensors like the task adapters, no file`;
        }
        if (method === "lc" || method === "lc++") {
            const sizes = method === "lc" ? lc : lcpp;
            if (sizes === null) continue;
            extraParams = sizes.params;
            extraBytes = sizes.bytes;
            source = `file: ${sizes.path} (compact form; all ${sizes.count} installed are this size)`;
        }
        rows.push({
            method,
            passes: passesOf(method),
            extraParams,
            extraBytes,
            percentOfJointExpert: (100 * extraParams) / jointExpertParams,
            source,
        });
    }
    return {jointExpertParams, jointExpertSource, taskAdapters, rows};
}
