// Seeded mutations of a valid task adapter (GGUF bytes, metadata, tensors, manifest): each one
// breaks or stretches exactly one thing, named by its probe, so the report says which kinds of
// damage are refused and which are accepted.

import {mkdir, readFile, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {adapterGguf, adapterManifest, type CraftAdapterOptions, type MutableGguf} from "../../../craft/gguf";
import type {SeededRandom} from "../../../craft/seededRandom";
import {sha256File} from "../../../engine/files/sha256";
import {
    GgmlType,
    type GgufValue,
    GgufValueType,
    ggufArray,
    ggufBool,
    ggufF64,
    ggufI32,
    ggufI64,
    ggufString,
    ggufStringArray,
    ggufU8,
    ggufU32,
    ggufU64,
    writeGguf,
} from "../../../engine/gguf";
import type {BaseModelStructure} from "../../../engine/model/fingerprint";
import {type GgufLayout, ggufLayout} from "./ggufLayout";

/** A valid GGUF file to mutate byte by byte. */
export interface GgufSeed {
    readonly bytes: Buffer;
    readonly layout: GgufLayout;
}

export interface AdapterSeed extends GgufSeed {
    readonly label: string;
    readonly base: BaseModelStructure;
    readonly options: CraftAdapterOptions;
    readonly gguf: MutableGguf;
    readonly sha256: string;
}

export async function makeAdapterSeed(
    label: string,
    base: BaseModelStructure,
    options: CraftAdapterOptions,
    scratch: string,
): Promise<AdapterSeed> {
    const gguf = adapterGguf(base, options);
    const path = join(scratch, `seed-${label}.gguf`);
    await writeGguf(path, gguf);
    const bytes = await readFile(path);
    return {label, base, options, gguf, bytes, layout: ggufLayout(bytes), sha256: await sha256File(path)};
}

type ManifestEdit = (manifest: Record<string, unknown>) => void;

export interface AdapterMutation {
    readonly probe: string;
    readonly detail: string;
    /** The adapter file: raw bytes, or a structure the writer serializes. */
    readonly gguf: Buffer | MutableGguf;
    /** An edit of the generated manifest, or the manifest's raw bytes. */
    readonly manifest?: ManifestEdit | Buffer;
    /** Keep the seed's sha256 in the manifest (so only the hash check can catch it). */
    readonly staleHash?: boolean;
}

export const FLT_MAX = 3.4028234663852886e38;

export function clone(gguf: MutableGguf): MutableGguf {
    return {
        metadata: gguf.metadata.map(([key, value]) => [key, value]),
        tensors: gguf.tensors.map((tensor) => ({...tensor, data: tensor.data.slice()})),
    };
}

export function setMeta(gguf: MutableGguf, key: string, value: GgufValue | undefined): void {
    const index = gguf.metadata.findIndex(([k]) => k === key);
    if (index >= 0) gguf.metadata.splice(index, 1);
    if (value !== undefined) gguf.metadata.push([key, value]);
}

export const int = (random: SeededRandom, n: number) => Math.floor(random.uniform() * n);
export const pick = <T>(random: SeededRandom, items: readonly T[]): T => items[int(random, items.length)] as T;

function pairStrength(gguf: MutableGguf, alphaOverRank: number): number {
    const norms = new Map(
        gguf.tensors.map((t) => [t.name, Math.sqrt(t.data.reduce((sum, v) => sum + v * v, 0))] as const),
    );
    let strongest = 0;
    for (const [name, norm] of norms)
        if (name.endsWith(".lora_a"))
            strongest = Math.max(strongest, alphaOverRank * norm * (norms.get(name.replace(/_a$/, "_b")) ?? 0));
    return strongest;
}

export type Operator<Seed, Mutation> = {
    readonly probe: string;
    readonly weight: number;
    readonly make: (seed: Seed, random: SeededRandom, id: string) => Omit<Mutation, "probe">;
};

type AdapterOperator = Operator<AdapterSeed, AdapterMutation>;

/** Picks an operator by weight and applies it. */
export function applyWeighted<Seed, Mutation>(
    operators: readonly Operator<Seed, Mutation>[],
    seed: Seed,
    random: SeededRandom,
    id: string,
): Mutation & {readonly probe: string} {
    const total = operators.reduce((sum, op) => sum + op.weight, 0);
    let roll = random.uniform() * total;
    let chosen = operators[0] as Operator<Seed, Mutation>;
    for (const op of operators) {
        chosen = op;
        roll -= op.weight;
        if (roll < 0) break;
    }
    return {probe: chosen.probe, ...chosen.make(seed, random, id)} as Mutation & {readonly probe: string};
}

/** Mutations of the raw bytes of any GGUF file: header fields, data, length, layout. */
export const byteOps: Operator<
    GgufSeed,
    {readonly detail: string; readonly gguf: Buffer; readonly staleHash?: boolean}
>[] = [
    {
        probe: "header bit flip",
        weight: 3,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const at = int(random, seed.layout.dataAt);
            const bit = int(random, 8);
            bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
            return {detail: `byte ${at} bit ${bit}`, gguf: bytes};
        },
    },
    {
        probe: "data bit flip",
        weight: 2,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const at = seed.layout.dataAt + int(random, bytes.length - seed.layout.dataAt);
            const bit = int(random, 8);
            bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
            return {detail: `byte ${at} bit ${bit}`, gguf: bytes};
        },
    },
    {
        probe: "header byte set",
        weight: 2,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const at = int(random, seed.layout.dataAt);
            const value = pick(random, [0, 0xff, int(random, 256)]);
            bytes[at] = value;
            return {detail: `byte ${at} = ${value}`, gguf: bytes};
        },
    },
    {
        probe: "truncated",
        weight: 1,
        make: (seed, random) => {
            const length = int(random, seed.bytes.length);
            return {
                detail: `${length} of ${seed.bytes.length} bytes`,
                gguf: Buffer.from(seed.bytes.subarray(0, length)),
            };
        },
    },
    {
        probe: "bytes appended",
        weight: 0.5,
        make: (seed, random) => {
            const extra = Buffer.alloc(1 + int(random, 4096));
            for (let i = 0; i < extra.length; i++) extra[i] = int(random, 256);
            return {detail: `${extra.length} bytes`, gguf: Buffer.concat([seed.bytes, extra])};
        },
    },
    {
        probe: "string length field",
        weight: 2,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const fields = [
                ...seed.layout.keyValues.map((kv) => ({at: kv.keyLengthAt, what: `key ${kv.key}`})),
                ...seed.layout.tensors.map((t) => ({at: t.nameLengthAt, what: `name of ${t.name}`})),
            ];
            const field = pick(random, fields);
            const old = bytes.readBigUInt64LE(field.at);
            // 3.7 MB is the flip that once put 3.7 MB of NULs into a message.
            const value = pick(random, [0n, 1n, old + 1n, old - 1n, 64n, 3_700_000n, 1n << 40n, 1n << 63n]);
            bytes.writeBigUInt64LE(value, field.at);
            return {detail: `${field.what} length ${old} -> ${value}`, gguf: bytes};
        },
    },
    {
        probe: "value type field",
        weight: 1.5,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const kv = pick(random, seed.layout.keyValues);
            const type = pick(random, [int(random, 13), 13, 99, 0xffffffff]);
            bytes.writeUInt32LE(type, kv.typeAt);
            return {detail: `${kv.key} type -> ${type}`, gguf: bytes};
        },
    },
    {
        probe: "empty metadata key",
        weight: 0.5,
        make: (seed, random) => {
            const kv = pick(random, seed.layout.keyValues);
            const keyEnd = kv.keyLengthAt + 8 + Buffer.byteLength(kv.key);
            const bytes = Buffer.concat([
                seed.bytes.subarray(0, kv.keyLengthAt),
                Buffer.alloc(8),
                seed.bytes.subarray(keyEnd),
            ]);
            return {detail: `key ${kv.key} -> ""`, gguf: bytes};
        },
    },
    {
        probe: "tensor data offsets",
        weight: 2,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const tensors = seed.layout.tensors;
            const i = int(random, tensors.length);
            let j = int(random, tensors.length - 1);
            if (j >= i) j++;
            const a = tensors[i] as (typeof tensors)[number];
            const b = tensors[j] as (typeof tensors)[number];
            const offsetA = bytes.readBigUInt64LE(a.offsetAt);
            const offsetB = bytes.readBigUInt64LE(b.offsetAt);
            const align = BigInt(seed.layout.alignment);
            const kind = pick(random, ["swapped", "shared", "gap", "unaligned", "all shifted"]);
            if (kind === "swapped") {
                bytes.writeBigUInt64LE(offsetB, a.offsetAt);
                bytes.writeBigUInt64LE(offsetA, b.offsetAt);
            } else if (kind === "shared") bytes.writeBigUInt64LE(offsetA, b.offsetAt);
            else if (kind === "gap") bytes.writeBigUInt64LE(offsetB + align, b.offsetAt);
            else if (kind === "unaligned") bytes.writeBigUInt64LE(offsetB + 4n, b.offsetAt);
            else for (const t of tensors) bytes.writeBigUInt64LE(bytes.readBigUInt64LE(t.offsetAt) + align, t.offsetAt);
            return {detail: `${kind} (${a.name}, ${b.name})`, gguf: bytes};
        },
    },
    {
        probe: "tensor type field",
        weight: 2,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const tensor = pick(random, seed.layout.tensors);
            const current = bytes.readUInt32LE(tensor.typeAt);
            const toggled = current === GgmlType.F32 ? GgmlType.F16 : GgmlType.F32;
            const type = pick(random, [
                toggled,
                toggled,
                GgmlType.BF16,
                GgmlType.Q8_0,
                GgmlType.Q4_0,
                4,
                40,
                99,
                0xffffffff,
            ]);
            bytes.writeUInt32LE(type, tensor.typeAt);
            return {detail: `${tensor.name} type ${current} -> ${type}`, gguf: bytes};
        },
    },
    {
        probe: "tensor shape field",
        weight: 1.5,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const tensor = pick(random, seed.layout.tensors);
            const d = int(random, tensor.nDims);
            const at = tensor.neAt + 8 * d;
            const old = bytes.readBigUInt64LE(at);
            const value = pick(random, [old + 1n, old - 1n, 0n, old * 2n, 1n << 40n, 1n << 63n]);
            bytes.writeBigUInt64LE(value, at);
            return {detail: `${tensor.name} ne[${d}] ${old} -> ${value}`, gguf: bytes};
        },
    },
    {
        probe: "tensor dimension count",
        weight: 0.5,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const tensor = pick(random, seed.layout.tensors);
            const value = pick(random, [0, 1, 3, 5, 255]);
            bytes.writeUInt32LE(value, tensor.neAt - 4);
            return {detail: `${tensor.name} n_dims -> ${value}`, gguf: bytes};
        },
    },
    {
        probe: "stale sha256 in the manifest",
        weight: 0.5,
        make: (seed, random) => {
            const bytes = Buffer.from(seed.bytes);
            const at = seed.layout.dataAt + int(random, bytes.length - seed.layout.dataAt);
            bytes[at] = (bytes[at] ?? 0) ^ 0x10;
            return {detail: `byte ${at} changed, hash kept`, gguf: bytes, staleHash: true};
        },
    },
];

const ALPHA_TYPES: [string, GgufValue][] = [
    ["UINT64", ggufU64(16n)],
    ["FLOAT64", ggufF64(16)],
    ["INT32", ggufI32(16)],
    ["UINT32", ggufU32(16)],
    ["INT64", ggufI64(16n)],
    ["UINT8", ggufU8(16)],
    ["STRING", ggufString("16")],
    ["BOOL", ggufBool(true)],
    ["ARRAY", ggufArray(GgufValueType.FLOAT32, [16])],
];

const structureOps: AdapterOperator[] = [
    {
        probe: "metadata type",
        weight: 2,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const cases: [string, string, GgufValue | undefined][] = [
                ...ALPHA_TYPES.map(([name, value]): [string, string, GgufValue] => [
                    `alpha as ${name}`,
                    "adapter.lora.alpha",
                    value,
                ]),
                ["general.type as UINT32", "general.type", ggufU32(1)],
                ["general.architecture as ARRAY", "general.architecture", ggufStringArray(["gemma3"])],
                ["adapter.type as UINT8", "adapter.type", ggufU8(1)],
                [
                    "aLoRA invocation tokens (UINT32)",
                    "adapter.alora.invocation_tokens",
                    ggufArray(GgufValueType.UINT32, [1, 2]),
                ],
                [
                    "aLoRA invocation tokens (INT32)",
                    "adapter.alora.invocation_tokens",
                    ggufArray(GgufValueType.INT32, [1, 2]),
                ],
                ["alpha missing", "adapter.lora.alpha", undefined],
                ["general.type missing", "general.type", undefined],
                ["extra key adapter.lora.task_name", "adapter.lora.task_name", ggufString("summarize")],
                ["extra key with control characters", "x.\u0000\u202e", ggufString("\u0000")],
            ];
            const [detail, key, value] = pick(random, cases);
            setMeta(gguf, key, value);
            return {detail, gguf};
        },
    },
    {
        probe: "extreme values (whole tensor)",
        weight: 2,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const tensor = pick(random, gguf.tensors);
            const value = pick(random, [
                65504,
                FLT_MAX,
                -FLT_MAX,
                1e30,
                1001,
                -1001,
                999,
                Number.NaN,
                Number.POSITIVE_INFINITY,
                -0,
                1e-40,
                0,
            ]);
            tensor.data.fill(value);
            return {detail: `${tensor.name} filled with ${value}`, gguf};
        },
    },
    {
        probe: "extreme values (one element)",
        weight: 1.5,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const tensor = pick(random, gguf.tensors);
            const index = int(random, tensor.data.length);
            const value = pick(random, [
                65504,
                FLT_MAX,
                1e30,
                1001,
                999,
                50,
                Number.NaN,
                Number.NEGATIVE_INFINITY,
                1e-40,
            ]);
            tensor.data[index] = value;
            return {detail: `${tensor.name}[${index}] = ${value}`, gguf};
        },
    },
    {
        probe: "pair strength near the limit",
        weight: 1,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const alphaOverRank = (seed.options.alpha ?? 2 * (seed.options.rank ?? 16)) / (seed.options.rank ?? 16);
            const target = pick(random, [50, 99, 101, 1000]);
            const factor = Math.sqrt(target / pairStrength(gguf, alphaOverRank));
            for (const tensor of gguf.tensors)
                for (let i = 0; i < tensor.data.length; i++) tensor.data[i] = (tensor.data[i] as number) * factor;
            return {detail: `strongest pair scaled to ${target}`, gguf};
        },
    },
    {
        probe: "tensor set",
        weight: 1,
        make: (seed, random) => {
            const gguf = clone(seed.gguf);
            const first = gguf.tensors[0] as MutableGguf["tensors"][number];
            const cases: [string, () => void][] = [
                [
                    "a lora_b dropped",
                    () =>
                        gguf.tensors.splice(
                            gguf.tensors.findIndex((t) => t.name.endsWith(".lora_b")),
                            1,
                        ),
                ],
                [
                    "a .bias tensor added",
                    () => gguf.tensors.push({...first, name: "blk.0.attn_q.bias", data: first.data.slice()}),
                ],
                [
                    "a pair on a norm",
                    () => {
                        const [nEmbd = 1] = seed.base.tensors.get("blk.0.attn_norm.weight") ?? [];
                        gguf.tensors.push({
                            name: "blk.0.attn_norm.weight.lora_a",
                            ne: [nEmbd, 8],
                            type: first.type,
                            data: new Float32Array(nEmbd * 8),
                        });
                        gguf.tensors.push({
                            name: "blk.0.attn_norm.weight.lora_b",
                            ne: [8, 1],
                            type: first.type,
                            data: new Float32Array(8),
                        });
                    },
                ],
                [
                    "a pair for a tensor the base lacks",
                    () => gguf.tensors.push({...first, name: "blk.99.attn_q.weight.lora_a"}),
                ],
                ["no tensors at all", () => gguf.tensors.splice(0)],
                [
                    "a 64-byte tensor name",
                    () => gguf.tensors.push({...first, name: `blk.0.attn_q.weight${"x".repeat(38)}.lora_a`}),
                ],
            ];
            const [detail, apply] = pick(random, cases);
            apply();
            return {detail, gguf};
        },
    },
];

const huge = "x".repeat(2 << 20);
function deep(depth: number): unknown {
    let value: unknown = {};
    for (let i = 0; i < depth; i++) value = {a: value};
    return value;
}

const MANIFEST_EDITS: [string, ManifestEdit][] = [
    [
        "id 255 characters",
        (m) => {
            m.id = "a".repeat(255);
        },
    ],
    [
        "id 300 characters",
        (m) => {
            m.id = "b".repeat(300);
        },
    ],
    [
        "id 129 characters",
        (m) => {
            m.id = "c".repeat(129);
        },
    ],
    [
        "id upper case",
        (m) => {
            m.id = "Fault.Upper";
        },
    ],
    [
        "id ../escape",
        (m) => {
            m.id = "../escape";
        },
    ],
    [
        "id empty",
        (m) => {
            m.id = "";
        },
    ],
    [
        "id with NUL",
        (m) => {
            m.id = "fault.nul\u0000x";
        },
    ],
    [
        "id a number",
        (m) => {
            m.id = 42;
        },
    ],
    [
        "task misspelt",
        (m) => {
            m.task = "summarise";
        },
    ],
    [
        "task out of order",
        (m) => {
            m.task = "translate:fr+summarize";
        },
    ],
    [
        "task null",
        (m) => {
            m.task = null;
        },
    ],
    [
        "rank mismatch",
        (m) => {
            m.rank = 16;
        },
    ],
    [
        "rank 0",
        (m) => {
            m.rank = 0;
        },
    ],
    [
        "rank 8.5",
        (m) => {
            m.rank = 8.5;
        },
    ],
    [
        "rank 1e300",
        (m) => {
            m.rank = 1e300;
        },
    ],
    [
        "alpha off in float32",
        (m) => {
            m.alpha = 15.999999;
        },
    ],
    [
        "alpha equal in float32",
        (m) => {
            m.alpha = 16.0000001;
        },
    ],
    [
        "alpha negative",
        (m) => {
            m.alpha = -16;
        },
    ],
    [
        "alpha a string",
        (m) => {
            m.alpha = "16";
        },
    ],
    [
        "alpha 1e39",
        (m) => {
            m.alpha = 1e39;
        },
    ],
    [
        "targetModules empty",
        (m) => {
            m.targetModules = [];
        },
    ],
    [
        "targetModules one missing",
        (m) => {
            m.targetModules = ["attn_q"];
        },
    ],
    [
        "targetModules one extra",
        (m) => {
            m.targetModules = ["attn_q", "attn_v", "attn_k"];
        },
    ],
    [
        "targetModules PEFT name",
        (m) => {
            m.targetModules = ["q_proj", "v_proj"];
        },
    ],
    [
        "file ../adapter.gguf",
        (m) => {
            m.file = "../adapter.gguf";
        },
    ],
    [
        "file with NUL",
        (m) => {
            m.file = "adapter.gguf\u0000.txt";
        },
    ],
    [
        "file missing",
        (m) => {
            m.file = "ADAPTER.GGUF";
        },
    ],
    [
        "file is the manifest",
        (m) => {
            m.file = "manifest.json";
        },
    ],
    [
        "sha256 upper case",
        (m) => {
            m.sha256 = String(m.sha256).toUpperCase();
        },
    ],
    [
        "sha256 63 digits",
        (m) => {
            m.sha256 = String(m.sha256).slice(1);
        },
    ],
    [
        "base fingerprint one digit off",
        (m) => {
            const base = m.base as {fingerprint: string; name: string};
            const last = base.fingerprint.at(-1) === "0" ? "1" : "0";
            m.base = {...base, fingerprint: `${base.fingerprint.slice(0, -1)}${last}`};
        },
    ],
    [
        "base name empty",
        (m) => {
            m.base = {...(m.base as object), name: ""};
        },
    ],
    ["base missing", (m) => delete m.base],
    [
        "promptTemplate without {input}",
        (m) => {
            m.promptTemplate = "Summarize this.";
        },
    ],
    [
        "promptTemplate with two {input}",
        (m) => {
            m.promptTemplate = "{input} {input}";
        },
    ],
    [
        "promptTemplate with control and bidi characters",
        (m) => {
            m.promptTemplate = "\u0000\u202eSummarize:\n{input}\n";
        },
    ],
    [
        "stopStrings with an empty one",
        (m) => {
            m.stopStrings = ["<end_of_turn>", ""];
        },
    ],
    [
        "stopStrings a string",
        (m) => {
            m.stopStrings = "<end_of_turn>";
        },
    ],
    [
        "stopStrings with a newline",
        (m) => {
            m.stopStrings = ["<end_of_turn>", "\n\n"];
        },
    ],
    [
        "licence a number",
        (m) => {
            m.licence = 3;
        },
    ],
    [
        "training an array",
        (m) => {
            m.training = [1, 2];
        },
    ],
    [
        "training 2 MB",
        (m) => {
            m.training = {notes: huge};
        },
    ],
    [
        "training nested 2000 deep",
        (m) => {
            m.training = deep(2000) as Record<string, unknown>;
        },
    ],
    [
        "unknown field",
        (m) => {
            m.targetModule = ["attn_q"];
        },
    ],
    ["__proto__ field", (m) => Object.defineProperty(m, "__proto__", {value: {}, enumerable: true})],
    [
        "formatVersion 2",
        (m) => {
            m.formatVersion = 2;
        },
    ],
    ["formatVersion missing", (m) => delete m.formatVersion],
];

const manifestOps: AdapterOperator[] = [
    {
        probe: "manifest field",
        weight: 3,
        make: (seed, random) => {
            const [detail, edit] = pick(random, MANIFEST_EDITS);
            return {detail, gguf: Buffer.from(seed.bytes), manifest: edit};
        },
    },
    {
        probe: "manifest bytes",
        weight: 1,
        make: (seed, random, id) => {
            const text = Buffer.from(
                `${JSON.stringify(adapterManifest(seed.base, {...seed.options, id}, seed.sha256), null, 2)}\n`,
            );
            const kind = pick(random, ["bit flip", "truncated", "BOM", "invalid UTF-8", "empty", "NUL bytes"]);
            let bytes: Buffer;
            if (kind === "bit flip") {
                bytes = Buffer.from(text);
                const at = int(random, bytes.length);
                bytes[at] = (bytes[at] ?? 0) ^ (1 << int(random, 8));
            } else if (kind === "truncated") bytes = text.subarray(0, int(random, text.length));
            else if (kind === "BOM") bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]);
            else if (kind === "invalid UTF-8")
                bytes = Buffer.concat([text.subarray(0, 20), Buffer.from([0xff, 0xfe]), text.subarray(20)]);
            else if (kind === "empty") bytes = Buffer.alloc(0);
            else bytes = Buffer.concat([text, Buffer.alloc(64)]);
            return {detail: kind, gguf: Buffer.from(seed.bytes), manifest: bytes};
        },
    },
];

const OPERATORS: AdapterOperator[] = [...(byteOps as AdapterOperator[]), ...structureOps, ...manifestOps];

export function mutateAdapter(seed: AdapterSeed, random: SeededRandom, id: string): AdapterMutation {
    return applyWeighted(OPERATORS, seed, random, id);
}

/**
 * Writes a mutant as an adapter folder: the file, and the seed's manifest with `id` and the
 * file's real sha256 (unless the mutation keeps the old one), then the mutation's manifest edit.
 */
export async function writeAdapterMutant(
    dir: string,
    seed: AdapterSeed,
    mutation: AdapterMutation,
    id: string,
): Promise<void> {
    await mkdir(dir, {recursive: true});
    const ggufPath = join(dir, "adapter.gguf");
    if (Buffer.isBuffer(mutation.gguf)) await writeFile(ggufPath, mutation.gguf);
    else await writeGguf(ggufPath, mutation.gguf);
    const sha256 = mutation.staleHash ? seed.sha256 : await sha256File(ggufPath);
    if (Buffer.isBuffer(mutation.manifest)) {
        await writeFile(join(dir, "manifest.json"), mutation.manifest);
        return;
    }
    const manifest = {...adapterManifest(seed.base, {...seed.options, id}, sha256)};
    mutation.manifest?.(manifest);
    await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}
