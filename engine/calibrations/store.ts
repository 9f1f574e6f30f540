// Finds calibrations on disk: `<root>/<fp12>/<chain>.<kind>.gguf` (docs/formats.md, section 3),
// over the repository's `calibrations/` and optional user directories. Listing reads headers
// only; `verify` reads values and checks the adapters a calibration was trained with.

import {readdir} from "node:fs/promises";
import {join} from "node:path";
import type {TaskChain} from "../compose/taskChain";
import {distinctPrefixes, quote} from "../messages/quote";
import type {BaseModelStructure} from "../model/fingerprint";
import {checkCalibrationExpansion} from "./expand";
import {
    CalibrationFormatError,
    type CalibrationKind,
    type CalibrationSummary,
    calibrationFileName,
    type StoredCalibration,
} from "./format";
import {MODULE_TYPES} from "./moduleTypes";
import {readCalibration, readCalibrationSummary} from "./read";

export type CalibrationStoreEntry =
    | {readonly status: "valid"; readonly path: string; readonly summary: CalibrationSummary}
    | {readonly status: "invalid"; readonly path: string; readonly reason: string};

export type ValidCalibrationEntry = Extract<CalibrationStoreEntry, {status: "valid"}>;

/** A task adapter that is installed, as the adapter registry knows it. */
export interface AvailableAdapter {
    readonly id: string;
    readonly sha256: string;
    readonly ggufPath: string;
}

export type CalibrationVerification =
    | {
          readonly ok: true;
          readonly calibration: StoredCalibration;
          /** The calibration's adapters in its concatenation order, ready for `expandCalibration`. */
          readonly adapters: readonly AvailableAdapter[];
      }
    | {readonly ok: false; readonly reason: string};

/** Folder name for a base model's calibrations: the first 12 hex digits of its fingerprint. */
export function calibrationFolderName(base: Pick<BaseModelStructure, "fingerprint">): string {
    return base.fingerprint.slice(0, 12);
}

export class CalibrationStore {
    /** @param roots searched in this order; for a chain and kind, the first valid file wins. */
    constructor(readonly roots: readonly string[]) {}

    /** Every `.gguf` file in the base's folders, each parsed (header only) or with the reason it is unusable. */
    async list(base: BaseModelStructure): Promise<CalibrationStoreEntry[]> {
        const entries: CalibrationStoreEntry[] = [];
        for (const root of this.roots) {
            const folder = join(root, calibrationFolderName(base));
            for (const fileName of await ggufFileNames(folder))
                entries.push(await inspect(join(folder, fileName), base));
        }
        return entries;
    }

    /** The first valid calibration for this chain and kind, or null. */
    async find(
        chain: TaskChain,
        kind: CalibrationKind,
        base: BaseModelStructure,
    ): Promise<ValidCalibrationEntry | null> {
        const wanted = calibrationFileName(chain, kind);
        for (const root of this.roots) {
            const folder = join(root, calibrationFolderName(base));
            if (!(await ggufFileNames(folder)).includes(wanted)) continue;
            const entry = await inspect(join(folder, wanted), base);
            if (entry.status === "valid") return entry;
        }
        return null;
    }

    /**
     * Reads a calibration completely and checks that every adapter it merges is installed with
     * the same file hash (a retrained adapter invalidates the calibration).
     */
    async verify(
        filePath: string,
        availableAdapters: readonly AvailableAdapter[],
        base?: BaseModelStructure,
    ): Promise<CalibrationVerification> {
        let calibration: StoredCalibration;
        try {
            calibration = await readCalibration(filePath);
        } catch (error) {
            return {ok: false, reason: describeError(error)};
        }
        if (base !== undefined) {
            const problem = baseProblem(calibration, base);
            if (problem !== null) return {ok: false, reason: problem};
        }
        const adapters: AvailableAdapter[] = [];
        for (const wanted of calibration.adapters) {
            const candidates = availableAdapters.filter((adapter) => adapter.id === wanted.id);
            const match = candidates.find((adapter) => adapter.sha256 === wanted.sha256);
            if (match === undefined) {
                const [installed, expected] = distinctPrefixes(candidates[0]?.sha256 ?? "", wanted.sha256);
                return {
                    ok: false,
                    reason:
                        candidates.length === 0
                            ? `adapter ${quote(wanted.id)} is not installed.`
                            : `adapter ${quote(wanted.id)} has changed since the calibration was trained ` +
                              `(sha256 ${installed}, expected ${expected}).`,
                };
            }
            adapters.push(match);
        }
        if (base !== undefined) {
            try {
                await checkCalibrationExpansion(calibration, adapters, base);
            } catch (error) {
                return {ok: false, reason: describeError(error)};
            }
        }
        return {ok: true, calibration, adapters};
    }
}

async function ggufFileNames(folder: string): Promise<string[]> {
    try {
        const names = await readdir(folder, {withFileTypes: true});
        return names
            .filter((entry) => entry.isFile() && entry.name.endsWith(".gguf"))
            .map((entry) => entry.name)
            .sort();
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
    }
}

async function inspect(filePath: string, base: BaseModelStructure): Promise<CalibrationStoreEntry> {
    let summary: CalibrationSummary;
    try {
        summary = await readCalibrationSummary(filePath);
    } catch (error) {
        return {status: "invalid", path: filePath, reason: describeError(error)};
    }
    const problem = baseProblem(summary, base) ?? fileNameProblem(filePath, summary);
    return problem === null
        ? {status: "valid", path: filePath, summary}
        : {status: "invalid", path: filePath, reason: problem};
}

function fileNameProblem(filePath: string, summary: CalibrationSummary): string | null {
    const expected = calibrationFileName(summary.chain, summary.kind);
    const actual = filePath.split(/[\\/]/).pop();
    return actual === expected
        ? null
        : `the file holds "${summary.chainKey}" (${summary.kind}), so it must be named ${expected}.`;
}

type BaseBinding = Pick<CalibrationSummary, "baseFingerprint" | "architecture"> &
    Partial<Pick<CalibrationSummary, "modules">>;

/** Why a calibration cannot apply to this base, or null; shapes are checked when known. */
function baseProblem(calibration: BaseBinding, base: BaseModelStructure): string | null {
    if (calibration.baseFingerprint !== base.fingerprint) {
        const [trained, loaded] = distinctPrefixes(calibration.baseFingerprint, base.fingerprint);
        return `trained for base ${trained}, not ${loaded} (${base.name}).`;
    }
    if (calibration.architecture !== base.architecture)
        return `architecture ${quote(calibration.architecture)} differs from the base's ${quote(base.architecture)}.`;
    for (const moduleType of MODULE_TYPES) {
        const shape = calibration.modules?.get(moduleType);
        const ne = base.tensors.get(`blk.0.${moduleType}.weight`);
        if (shape === undefined) continue;
        if (ne === undefined) return `the base has no ${moduleType} weights.`;
        if (ne[1] !== shape.nOut || (shape.nIn !== null && ne[0] !== shape.nIn))
            return `cal.${moduleType} does not fit the base's ${moduleType} weights (ne {${ne}}).`;
    }
    return null;
}

function describeError(error: unknown): string {
    if (error instanceof CalibrationFormatError) return error.message;
    return error instanceof Error ? error.message : String(error);
}
