// Finds calibrations on disk: `<root>/<fp12>/<chain>.<kind>.gguf` (docs/formats.md, section 3),
// over the repository's `calibrations/` and optional user directories. Listing reads headers
// only; `verifiedFor` (the engine's inventory) and `verify` (`composer calibrations verify`)
// read whole files and bind them to the installed adapters (verified.ts).

import {readdir} from "node:fs/promises";
import {join} from "node:path";
import {type LoraTerms, readLoraTerms} from "../adapters/fuse";
import {chainKey, type TaskChain} from "../compose/taskChain";
import {fileVersion, sameVersion} from "../files/fileVersion";
import type {BaseModelStructure} from "../model/fingerprint";
import {calibrationTerms} from "./expand";
import {
    CalibrationFormatError,
    type CalibrationKind,
    type CalibrationSummary,
    calibrationFileName,
    type StoredCalibration,
} from "./format";
import {readCalibration, readCalibrationSummary} from "./read";
import {type BindableAdapter, baseProblem, type VerifiedCalibration, verifyCalibration} from "./verified";

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
          readonly calibration: VerifiedCalibration<AvailableAdapter>;
          /** The calibration's adapters in its concatenation order. */
          readonly adapters: readonly AvailableAdapter[];
      }
    | {readonly ok: false; readonly reason: string};

/** A calibration file that cannot be used, and why: `error` keeps its code for a request that names the file. */
export interface RefusedCalibration {
    readonly path: string;
    readonly fileName: string;
    readonly code: string;
    /** Without the path, as a listing prints it after the file's name. */
    readonly reason: string;
    readonly error: Error;
}

/** Every calibration for a base model that can be used with the installed adapters, and why the others cannot. */
export interface VerifiedCalibrations<A extends BindableAdapter> {
    readonly verified: readonly VerifiedCalibration<A>[];
    readonly refused: readonly RefusedCalibration[];
}

export interface CalibrationStoreOptions {
    /** How a file is read whole (read.ts); tests count the reads. */
    readonly read?: (filePath: string) => Promise<StoredCalibration>;
}

/** Folder name for a base model's calibrations: the first 12 hex digits of its fingerprint. */
export function calibrationFolderName(base: Pick<BaseModelStructure, "fingerprint">): string {
    return base.fingerprint.slice(0, 12);
}

export class CalibrationStore {
    /** Files read whole, by path, each as the version read (files/fileVersion.ts): a refresh reads only what changed. */
    private readonly readFiles = new Map<string, StoredCalibration>();
    private readonly read: (filePath: string) => Promise<StoredCalibration>;

    /** @param roots searched in this order; for a chain and kind, the first valid file wins. */
    constructor(
        readonly roots: readonly string[],
        options: CalibrationStoreOptions = {},
    ) {
        this.read = options.read ?? readCalibration;
    }

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
     * Every calibration for `base`, read whole (once per file version), named for what it holds,
     * and bound to `installed` (verified.ts): what the engine may use, and why the rest cannot be.
     */
    async verifiedFor<A extends BindableAdapter>(
        base: BaseModelStructure,
        installed: readonly A[],
    ): Promise<VerifiedCalibrations<A>> {
        const verified: VerifiedCalibration<A>[] = [];
        const refused: RefusedCalibration[] = [];
        const seen = new Set<string>();
        for (const root of this.roots) {
            const folder = join(root, calibrationFolderName(base));
            for (const fileName of await ggufFileNames(folder)) {
                const path = join(folder, fileName);
                seen.add(path);
                const refuse = (code: string, reason: string, error: Error) =>
                    refused.push({path, fileName, code, reason, error});
                let stored: StoredCalibration;
                try {
                    stored = await this.readOnce(path);
                } catch (error) {
                    const failure = error instanceof Error ? error : new Error(String(error));
                    const code = (failure as {code?: unknown}).code;
                    refuse(typeof code === "string" ? code : "unreadable", describeError(failure), failure);
                    continue;
                }
                const misnamed = fileNameProblem(path, {...stored, kind: stored.parameters.kind});
                if (misnamed !== null) {
                    refuse("misnamed", misnamed, new CalibrationFormatError("misnamed", misnamed, path));
                    continue;
                }
                const verdict = verifyCalibration(stored, installed, base);
                if (verdict.ok) verified.push(verdict.calibration);
                else refuse(verdict.error.code, verdict.error.reason, verdict.error);
            }
        }
        for (const path of this.readFiles.keys()) if (!seen.has(path)) this.readFiles.delete(path);
        return {verified, refused};
    }

    /** The file read whole, reusing the last read while the file is the version read. */
    private async readOnce(path: string): Promise<StoredCalibration> {
        const known = this.readFiles.get(path);
        if (known !== undefined && sameVersion(known.file.version, await fileVersion(path))) return known;
        this.readFiles.delete(path);
        const stored = await this.read(path);
        this.readFiles.set(path, stored);
        return stored;
    }

    /**
     * Reads a calibration completely (never from an earlier read), checks it against the base,
     * binds its adapters (a retrained adapter invalidates it) and builds its expansion in memory,
     * so a calibration this passes can be expanded and fused.
     */
    async verify(
        filePath: string,
        availableAdapters: readonly AvailableAdapter[],
        base: BaseModelStructure,
    ): Promise<CalibrationVerification> {
        let stored: StoredCalibration;
        try {
            stored = await readCalibration(filePath);
        } catch (error) {
            return {ok: false, reason: describeError(error)};
        }
        const verdict = verifyCalibration(stored, availableAdapters, base);
        if (!verdict.ok) return {ok: false, reason: verdict.error.reason};
        const {calibration} = verdict;
        try {
            const adapterTerms: LoraTerms[] = [];
            if (calibration.kind === "lc")
                for (const bound of calibration.adapters)
                    adapterTerms.push(await readLoraTerms(bound.adapter.ggufPath, 1));
            calibrationTerms(calibration, adapterTerms, base);
        } catch (error) {
            return {ok: false, reason: describeError(error)};
        }
        return {ok: true, calibration, adapters: calibration.adapters.map((bound) => bound.adapter)};
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
    const problem = baseProblem(summary, base)?.reason ?? fileNameProblem(filePath, summary);
    return problem === null
        ? {status: "valid", path: filePath, summary}
        : {status: "invalid", path: filePath, reason: problem};
}

function fileNameProblem(filePath: string, held: Pick<CalibrationSummary, "chain" | "kind">): string | null {
    const expected = calibrationFileName(held.chain, held.kind);
    const actual = filePath.split(/[\\/]/).pop();
    return actual === expected
        ? null
        : `the file holds "${chainKey(held.chain)}" (${held.kind}), so it must be named ${expected}.`;
}

function describeError(error: unknown): string {
    if (error instanceof CalibrationFormatError) return error.message;
    return error instanceof Error ? error.message : String(error);
}
