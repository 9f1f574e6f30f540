// Writes compact calibration files (format.ts), checked against the same rules the reader applies.

import {chainKey} from "../compose/taskChain";
import {type GgufTensorToWrite, ggufF32Array, ggufString, ggufStringArray, ggufU32, writeGguf} from "../gguf";
import {
    CALIBRATION_FORMAT_VERSION,
    CALIBRATION_GENERAL_TYPE,
    type Calibration,
    type CalibrationErrorCode,
    CalibrationFormatError,
    type CalibrationParameters,
    KEY,
    metadataProblem,
} from "./format";
import {isModuleType, MODULE_TYPES} from "./moduleTypes";

/** Writes a calibration (atomically) after checking it against the same rules the reader applies. */
export async function writeCalibration(filePath: string, calibration: Calibration): Promise<void> {
    const problem = metadataProblem(calibration);
    if (problem !== null) throw new CalibrationFormatError(problem.code, problem.message, filePath);
    const tensors = parameterTensors(calibration.parameters, filePath);
    const {parameters} = calibration;
    await writeGguf(filePath, {
        metadata: [
            [KEY.generalType, ggufString(CALIBRATION_GENERAL_TYPE)],
            [KEY.architecture, ggufString(calibration.architecture)],
            [KEY.formatVersion, ggufU32(CALIBRATION_FORMAT_VERSION)],
            [KEY.kind, ggufString(parameters.kind)],
            [KEY.chain, ggufString(chainKey(calibration.chain))],
            [KEY.baseFingerprint, ggufString(calibration.baseFingerprint)],
            [KEY.adapterIds, ggufStringArray(calibration.adapters.map((adapter) => adapter.id))],
            [KEY.adapterSha256, ggufStringArray(calibration.adapters.map((adapter) => adapter.sha256))],
            [KEY.mergeWeights, ggufF32Array(calibration.adapters.map((adapter) => adapter.mergeWeight))],
            [KEY.rank, ggufU32(parameters.kind === "lc" ? 1 : parameters.rank)],
            [KEY.promptTemplate, ggufString(calibration.promptTemplate)],
            [KEY.stopStrings, ggufStringArray([...calibration.stopStrings])],
            [KEY.training, ggufString(JSON.stringify(calibration.training ?? {}))],
        ],
        tensors,
    });
}

function parameterTensors(parameters: CalibrationParameters, filePath: string): GgufTensorToWrite[] {
    const fail = (code: CalibrationErrorCode, message: string) => new CalibrationFormatError(code, message, filePath);
    const checked = (name: string, values: Float32Array | undefined): Float32Array => {
        if (values === undefined) throw fail("missing-tensor", `${name} is missing.`);
        if (values.length === 0) throw fail("shape-mismatch", `${name} is empty.`);
        if (!values.every(Number.isFinite)) throw fail("non-finite", `${name} has a non-finite value.`);
        return values;
    };
    const tensors: GgufTensorToWrite[] = [];
    if (parameters.kind === "lc") {
        for (const moduleType of MODULE_TYPES) {
            if (!parameters.p.has(moduleType)) continue;
            const p = checked(`cal.${moduleType}.p`, parameters.p.get(moduleType));
            tensors.push({name: `cal.${moduleType}.p`, ne: [p.length], type: "F32", data: p});
        }
    } else {
        const {rank} = parameters;
        if (!Number.isInteger(rank) || rank < 1) throw fail("bad-metadata", `LC++ rank ${rank} must be >= 1.`);
        for (const moduleType of MODULE_TYPES) {
            if (!parameters.p1.has(moduleType) && !parameters.p2.has(moduleType)) continue;
            const p1 = checked(`cal.${moduleType}.p1`, parameters.p1.get(moduleType));
            const p2 = checked(`cal.${moduleType}.p2`, parameters.p2.get(moduleType));
            if (p1.length % rank !== 0 || p2.length % rank !== 0)
                throw fail("shape-mismatch", `cal.${moduleType}: p1/p2 lengths are not multiples of rank ${rank}.`);
            tensors.push({name: `cal.${moduleType}.p1`, ne: [p1.length / rank, rank], type: "F32", data: p1});
            tensors.push({name: `cal.${moduleType}.p2`, ne: [rank, p2.length / rank], type: "F32", data: p2});
        }
    }
    for (const key of calibratedKeys(parameters))
        if (!isModuleType(key)) throw fail("unexpected-tensor", `"${key}" is not a module type.`);
    if (tensors.length === 0) throw fail("missing-tensor", "the calibration has no parameter tensors.");
    return tensors;
}

function calibratedKeys(parameters: CalibrationParameters): string[] {
    return parameters.kind === "lc" ? [...parameters.p.keys()] : [...parameters.p1.keys(), ...parameters.p2.keys()];
}
