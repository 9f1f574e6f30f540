// Seeded mutations of a valid LC or LC++ calibration: raw bytes (shared with the adapter
// mutations), metadata (merge weights, bindings, chain, kind, prompt), and tensor values.

import {readFile, writeFile} from "node:fs/promises";
import type {MutableGguf} from "../../../craft/gguf";
import type {SeededRandom} from "../../../craft/seededRandom";
import type {Calibration} from "../../../engine/calibrations/format";
import {writeCalibration} from "../../../engine/calibrations/write";
import {
    type GgufValue,
    GgufValueType,
    ggufArray,
    ggufF32Array,
    ggufString,
    ggufStringArray,
    ggufU32,
    readGgufHeader,
    readTensorF32,
    writeGguf,
} from "../../../engine/gguf";
import {
    applyWeighted,
    byteOps,
    clone,
    FLT_MAX,
    type GgufSeed,
    int,
    type Operator,
    pick,
    setMeta,
} from "./adapterMutants";
import {ggufLayout} from "./ggufLayout";

export interface CalibrationSeed extends GgufSeed {
    readonly label: string;
    readonly kind: "lc" | "lc++";
    readonly gguf: MutableGguf;
    readonly calibration: Calibration;
}

export interface CalibrationMutation {
    readonly probe: string;
    readonly detail: string;
    readonly gguf: Buffer | MutableGguf;
}

export async function makeCalibrationSeed(
    label: string,
    calibration: Calibration,
    path: string,
): Promise<CalibrationSeed> {
    await writeCalibration(path, calibration);
    const bytes = await readFile(path);
    const header = await readGgufHeader(path);
    const gguf: MutableGguf = {
        metadata: [...header.metadata],
        tensors: await Promise.all(
            header.tensors.map(async (t) => ({
                name: t.name,
                ne: [...t.ne],
                type: "F32" as const,
                data: await readTensorF32(header, t.name),
            })),
        ),
    };
    return {label, kind: calibration.parameters.kind, gguf, bytes, layout: ggufLayout(bytes), calibration};
}

type CalibrationOperator = Operator<CalibrationSeed, CalibrationMutation>;

function metaEdit(
    probe: string,
    weight: number,
    cases: (seed: CalibrationSeed) => [string, string, GgufValue | undefined][],
): CalibrationOperator {
    return {
        probe,
        weight,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const [detail, key, value] = pick(random, cases(seed));
            setMeta(gguf, key, value);
            return {detail, gguf};
        },
    };
}

const shas = (seed: CalibrationSeed) => seed.calibration.adapters.map((a) => a.sha256);
const ids = (seed: CalibrationSeed) => seed.calibration.adapters.map((a) => a.id);
const nearMiss = (hex: string, at: number) => `${hex.slice(0, at)}${hex[at] === "0" ? "1" : "0"}${hex.slice(at + 1)}`;

const structureOps: CalibrationOperator[] = [
    metaEdit("merge weights", 3, () => [
        ...[1e30, FLT_MAX, 0, -1, 10.5, 11, Number.NaN, Number.POSITIVE_INFINITY].map(
            (w): [string, string, GgufValue] => [
                `second weight ${w}`,
                "calibration.merge_weights",
                ggufF32Array([1, w]),
            ],
        ),
        ...[10, 9.99, 1e-30, 0.5].map((w): [string, string, GgufValue] => [
            `second weight ${w} (allowed)`,
            "calibration.merge_weights",
            ggufF32Array([1, w]),
        ]),
        ["weights as FLOAT64 (allowed)", "calibration.merge_weights", ggufArray(GgufValueType.FLOAT64, [1, 0.8])],
        ["weights as UINT32", "calibration.merge_weights", ggufArray(GgufValueType.UINT32, [1, 1])],
        ["three weights for two adapters", "calibration.merge_weights", ggufF32Array([1, 1, 1])],
        ["weights missing", "calibration.merge_weights", undefined],
    ]),
    metaEdit("adapter binding", 2, (seed) => [
        ["adapters swapped", "calibration.adapter_ids", ggufStringArray([...ids(seed)].reverse())],
        [
            "an adapter not installed",
            "calibration.adapter_ids",
            ggufStringArray([ids(seed)[0] ?? "", "fault.not-installed"]),
        ],
        [
            "an adapter hash one digit off",
            "calibration.adapter_sha256",
            ggufStringArray([shas(seed)[0] ?? "", nearMiss(shas(seed)[1] ?? "", 50)]),
        ],
        [
            "an adapter hash upper case",
            "calibration.adapter_sha256",
            ggufStringArray(shas(seed).map((s) => s.toUpperCase())),
        ],
        ["no adapters", "calibration.adapter_ids", ggufStringArray([])],
        ["an empty adapter id", "calibration.adapter_ids", ggufStringArray(["", ids(seed)[1] ?? ""])],
        [
            "an id with NUL and bidi characters",
            "calibration.adapter_ids",
            ggufStringArray([`${ids(seed)[0]}\u0000\u202e`, ids(seed)[1] ?? ""]),
        ],
    ]),
    metaEdit("base and chain", 2, (seed) => [
        [
            "base fingerprint one digit off (digit 41)",
            "calibration.base_fingerprint",
            ggufString(nearMiss(seed.calibration.baseFingerprint, 40)),
        ],
        [
            "base fingerprint upper case",
            "calibration.base_fingerprint",
            ggufString(seed.calibration.baseFingerprint.toUpperCase()),
        ],
        ["architecture llama", "general.architecture", ggufString("llama")],
        ["chain not canonical", "calibration.chain", ggufString("translate:fr+summarize")],
        ["another chain", "calibration.chain", ggufString("summarize+translate:de")],
        ["chain with control characters", "calibration.chain", ggufString("summarize+\u0000\u202e")],
        ["general.type adapter", "general.type", ggufString("adapter")],
    ]),
    metaEdit("kind, rank and version", 1.5, (seed) => [
        ["kind swapped", "calibration.kind", ggufString(seed.kind === "lc" ? "lc++" : "lc")],
        ["kind unknown", "calibration.kind", ggufString("lcx")],
        ["rank 0", "calibration.rank", ggufU32(0)],
        ["rank 5", "calibration.rank", ggufU32(5)],
        ["rank as STRING", "calibration.rank", ggufString("4")],
        ["format version 2", "calibration.format_version", ggufU32(2)],
    ]),
    metaEdit("prompt, stop strings and training", 1.5, () => [
        ["prompt without {input}", "calibration.prompt_template", ggufString("Summarize in French.")],
        ["prompt with two {input}", "calibration.prompt_template", ggufString("{input}{input}")],
        [
            "prompt with control and bidi characters (allowed)",
            "calibration.prompt_template",
            ggufString(
                "<start_of_turn>user\n\u0000\u202eSummarize in French:\n{input}<end_of_turn>\n<start_of_turn>model\n",
            ),
        ],
        ["stop strings as STRING", "calibration.stop_strings", ggufString("<end_of_turn>")],
        ["stop strings as numbers", "calibration.stop_strings", ggufArray(GgufValueType.UINT32, [1])],
        ["training not JSON", "calibration.training", ggufString("{not json")],
        ["training 1 MB (allowed)", "calibration.training", ggufString(JSON.stringify({notes: "x".repeat(1 << 20)}))],
    ]),
    {
        probe: "tensor values",
        weight: 2.5,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const tensor = pick(random, gguf.tensors);
            const kind = pick(random, ["fill", "element", "scale"]);
            if (kind === "fill") {
                const value = pick(random, [FLT_MAX, 65504, 1001, 999, Number.NaN, 0, -0, 1e-40]);
                tensor.data.fill(value);
                return {detail: `${tensor.name} filled with ${value}`, gguf};
            }
            if (kind === "element") {
                const index = int(random, tensor.data.length);
                const value = pick(random, [FLT_MAX, 1e30, 1001, 50, Number.NEGATIVE_INFINITY]);
                tensor.data[index] = value;
                return {detail: `${tensor.name}[${index}] = ${value}`, gguf};
            }
            const factor = pick(random, [10, 100, 1000, 1e4]);
            for (const t of gguf.tensors)
                for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i] as number) * factor;
            return {detail: `every value x${factor}`, gguf};
        },
    },
    {
        probe: "tensor set",
        weight: 1,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const first = gguf.tensors[0] as MutableGguf["tensors"][number];
            const cases: [string, () => void][] = [
                ["a tensor dropped", () => gguf.tensors.splice(gguf.tensors.length - 1, 1)],
                ["an unexpected tensor", () => gguf.tensors.push({...first, name: "cal.attn_q.bias"})],
                [
                    "a tensor as F16",
                    () => {
                        first.type = "F16";
                    },
                ],
                [
                    "a module the base lacks",
                    () => gguf.tensors.push({...first, name: first.name.replace(/attn_\w+/, "attn_x")}),
                ],
                ["no tensors", () => gguf.tensors.splice(0)],
            ];
            const [detail, apply] = pick(random, cases);
            apply();
            return {detail, gguf};
        },
    },
];

// (The adapters' "stale sha256" operator means nothing here: a calibration has no manifest.)
const OPERATORS: CalibrationOperator[] = [
    ...(byteOps.filter((op) => !op.probe.startsWith("stale")) as unknown as CalibrationOperator[]),
    ...structureOps,
];

export function mutateCalibration(seed: CalibrationSeed, random: SeededRandom): CalibrationMutation {
    return applyWeighted(OPERATORS, seed, random, "");
}

export async function writeCalibrationMutant(path: string, mutation: CalibrationMutation): Promise<void> {
    if (Buffer.isBuffer(mutation.gguf)) await writeFile(path, mutation.gguf);
    else await writeGguf(path, mutation.gguf);
}
