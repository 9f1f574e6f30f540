// Evaluation sets: the lab exports them (lab/lab/eval/data.py) so example ids match the teacher
// targets the lab reads (lab/targets/<chain file key>.jsonl) and the splits are the lab's own.

import type {ChainKey} from "../engine/compose/taskChain";
import {runPythonJson} from "./python";

export interface EvalExample {
    readonly id: string;
    readonly input: string;
    /** Composite references (teacher-built, like the training targets); empty until they exist. */
    readonly references: readonly string[];
    /** Human references where a data set has them (XDailyDialog German replies). */
    readonly human_references?: readonly string[];
    readonly human_source?: string;
}

export interface EvalVariant {
    readonly group: string;
    readonly metric: "rougeL" | "wrouge";
    /** ISO 639-1 code the output should be in. */
    readonly language: string;
    readonly tone: string | null;
    readonly examples: readonly EvalExample[];
}

export interface EvalSet {
    readonly seed: number;
    readonly n: number | null;
    readonly data_dir: string;
    readonly files: readonly {path: string; sha256: string}[];
    readonly variants: Readonly<Record<string, EvalVariant>>;
    readonly references: Readonly<
        Record<string, {file: string; exists: boolean; sha256: string | null; covered: number}>
    >;
}

export async function loadEvalSet(
    root: string,
    options: {
        n: number;
        seed: number;
        dataDir: string | null;
        targetsDir: string | null;
        shortest: boolean;
        variants: readonly ChainKey[];
    },
): Promise<EvalSet> {
    const args = ["--n", String(options.n), "--seed", String(options.seed), "--variants", options.variants.join(",")];
    if (options.dataDir !== null) args.push("--data-dir", options.dataDir);
    if (options.targetsDir !== null) args.push("--targets-dir", options.targetsDir);
    if (options.shortest) args.push("--shortest");
    return runPythonJson<EvalSet>(root, "lab.eval.data", args);
}
