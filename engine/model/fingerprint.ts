// A base model's structural fingerprint (docs/formats.md section 1): architecture, vocabulary
// and tensor names/shapes, not bytes, so re-quantizing a model keeps its adapters valid and
// checking a model costs a header read.

import {basename} from "node:path";
import {sha256Text} from "../files/sha256";
import {type GgufHeader, metaOptionalString, metaString, metaStringArray} from "../gguf";

export interface BaseModelStructure {
    architecture: string;
    /** 64 lower-case hex digits; the first 12 name calibration folders. */
    fingerprint: string;
    /** `general.name`, else the file name: for humans only. */
    name: string;
    /** Base tensor name -> ne (innermost first). */
    tensors: ReadonlyMap<string, readonly number[]>;
}

const FINGERPRINT_PREFIX = "gguf-structure-v1\n";

/** Code-point order, as the spec (and Python's sorted()) requires; JS's default sort compares UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function baseFingerprint(header: GgufHeader): string {
    const architecture = metaString(header, "general.architecture");
    const vocabHash = sha256Text(metaStringArray(header, "tokenizer.ggml.tokens").join("\u0000"));
    const lines = [...header.tensors]
        .sort((a, b) => compareCodePoints(a.name, b.name))
        .map((tensor) => `${tensor.name}:${tensor.ne.join(",")}\n`);
    return sha256Text(`${FINGERPRINT_PREFIX}arch=${architecture}\nvocab=${vocabHash}\n${lines.join("")}`);
}

export function describeBaseModel(header: GgufHeader): BaseModelStructure {
    return {
        architecture: metaString(header, "general.architecture"),
        fingerprint: baseFingerprint(header),
        name: metaOptionalString(header, "general.name") ?? basename(header.filePath),
        tensors: new Map(header.tensors.map((tensor) => [tensor.name, [...tensor.ne]] as const)),
    };
}
