// A calibration fit to be used: read whole (read.ts), made for this base model, and bound to the
// task adapters it was trained with, installed byte for byte (matched by sha256). Checked once,
// where a calibration enters: the engine's inventory (store.ts `verifiedFor`) and
// `composer calibrations verify` (store.ts `verify`). What comes out is a VerifiedCalibration,
// the only form the recipe, the fused mix and the expansion accept, so none of them checks again.

import type {TaskChain} from "../compose/taskChain";
import type {HashedFile} from "../files/sha256";
import {distinctPrefixes, quote} from "../messages/quote";
import type {BaseModelStructure} from "../model/fingerprint";
import type {
    CalibratedModuleShape,
    CalibrationKind,
    CalibrationParameters,
    CalibrationSummary,
    StoredCalibration,
} from "./format";
import {MODULE_TYPES, type ModuleType} from "./moduleTypes";

/** Marks what verifyCalibration made; not exported, so nothing else can make one. */
const verified: unique symbol = Symbol("verified calibration");

/** What a calibration is bound to: an installed task adapter, named and hashed. */
export interface BindableAdapter {
    readonly id: string;
    readonly sha256: string;
}

/** A bound adapter whose file was hashed when it was listed: what the expansion and the fused mix read. */
export type AdapterFile = BindableAdapter & HashedFile;

export interface BoundAdapter<A extends BindableAdapter> {
    readonly adapter: A;
    /** `w_i`, as the calibration stores it. */
    readonly mergeWeight: number;
}

export interface VerifiedCalibration<A extends BindableAdapter = BindableAdapter> {
    /** Only `verifyCalibration` makes one. */
    readonly [verified]: true;
    readonly filePath: string;
    /** Of the bytes the parameters were parsed from; names every file derived from them. */
    readonly sha256: string;
    readonly chain: TaskChain;
    readonly kind: CalibrationKind;
    readonly promptTemplate: string;
    readonly stopStrings: readonly string[];
    readonly parameters: CalibrationParameters;
    /** The merged task adapters, as installed, in the calibration's concatenation order. */
    readonly adapters: readonly BoundAdapter<A>[];
}

export type CalibrationBindingCode =
    | "base-mismatch"
    | "architecture-mismatch"
    | "shape-mismatch"
    | "adapter-missing"
    | "adapter-changed";

/** Why a calibration cannot be used with this base model and these adapters. */
export class CalibrationBindingError extends Error {
    override name = "CalibrationBindingError";
    constructor(
        readonly code: CalibrationBindingCode,
        /** The reason alone, as listings print it after the file's name. */
        readonly reason: string,
        readonly filePath: string,
    ) {
        super(`${filePath}: ${reason}`);
    }
}

export type CalibrationVerdict<A extends BindableAdapter> =
    | {readonly ok: true; readonly calibration: VerifiedCalibration<A>}
    | {readonly ok: false; readonly error: CalibrationBindingError};

type BaseBinding = Pick<CalibrationSummary, "baseFingerprint" | "architecture" | "modules">;

/** Why a calibration (its header, or all of it) cannot apply to this base, or null. */
export function baseProblem(
    calibration: BaseBinding,
    base: BaseModelStructure,
): {code: CalibrationBindingCode; reason: string} | null {
    if (calibration.baseFingerprint !== base.fingerprint) {
        const [trained, loaded] = distinctPrefixes(calibration.baseFingerprint, base.fingerprint);
        return {code: "base-mismatch", reason: `trained for base ${trained}, not ${loaded} (${base.name}).`};
    }
    if (calibration.architecture !== base.architecture)
        return {
            code: "architecture-mismatch",
            reason: `architecture ${quote(calibration.architecture)} differs from the base's ${quote(base.architecture)}.`,
        };
    for (const moduleType of MODULE_TYPES) {
        const shape = calibration.modules.get(moduleType);
        if (shape === undefined) continue;
        const ne = base.tensors.get(`blk.0.${moduleType}.weight`);
        if (ne === undefined) return {code: "shape-mismatch", reason: `the base has no ${moduleType} weights.`};
        if (ne[1] !== shape.nOut || (shape.nIn !== null && ne[0] !== shape.nIn))
            return {
                code: "shape-mismatch",
                reason: `cal.${moduleType} does not fit the base's ${moduleType} weights (ne {${ne}}).`,
            };
    }
    return null;
}

/** The module shapes parameters imply (LC's `p` has n_out entries; LC++'s P1 is rank x n_in, P2 n_out x rank). */
function moduleShapes(parameters: CalibrationParameters): ReadonlyMap<ModuleType, CalibratedModuleShape> {
    const shapes = new Map<ModuleType, CalibratedModuleShape>();
    if (parameters.kind === "lc")
        for (const [module, p] of parameters.p) shapes.set(module, {nIn: null, nOut: p.length});
    else
        for (const [module, p1] of parameters.p1)
            shapes.set(module, {
                nIn: p1.length / parameters.rank,
                nOut: (parameters.p2.get(module)?.length ?? 0) / parameters.rank,
            });
    return shapes;
}

/**
 * Checks `stored` against the base model and binds each adapter it merges to the installed one
 * with the same sha256 (preferring the same id): a retrained adapter invalidates the calibration.
 */
export function verifyCalibration<A extends BindableAdapter>(
    stored: StoredCalibration,
    installed: readonly A[],
    base: BaseModelStructure,
): CalibrationVerdict<A> {
    const refuse = (code: CalibrationBindingCode, reason: string): CalibrationVerdict<A> => ({
        ok: false,
        error: new CalibrationBindingError(code, reason, stored.file.path),
    });
    const problem = baseProblem({...stored, modules: moduleShapes(stored.parameters)}, base);
    if (problem !== null) return refuse(problem.code, problem.reason);
    const adapters: BoundAdapter<A>[] = [];
    for (const wanted of stored.adapters) {
        const sameBytes = installed.filter((adapter) => adapter.sha256 === wanted.sha256);
        const match = sameBytes.find((adapter) => adapter.id === wanted.id) ?? sameBytes[0];
        if (match === undefined) {
            const sameId = installed.find((adapter) => adapter.id === wanted.id);
            if (sameId === undefined) return refuse("adapter-missing", `adapter ${quote(wanted.id)} is not installed.`);
            const [found, expected] = distinctPrefixes(sameId.sha256, wanted.sha256);
            return refuse(
                "adapter-changed",
                `adapter ${quote(wanted.id)} has changed since the calibration was trained (sha256 ${found}, expected ${expected}).`,
            );
        }
        adapters.push({adapter: match, mergeWeight: wanted.mergeWeight});
    }
    const calibration: VerifiedCalibration<A> = {
        [verified]: true,
        filePath: stored.file.path,
        sha256: stored.file.sha256,
        chain: stored.chain,
        kind: stored.parameters.kind,
        promptTemplate: stored.promptTemplate,
        stopStrings: stored.stopStrings,
        parameters: stored.parameters,
        adapters,
    };
    return {ok: true, calibration};
}
