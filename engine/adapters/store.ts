// Task adapters on disk: read-only bundled pack directories plus one writable user directory,
// each holding `<id>/manifest.json` + the adapter file. Installs, replacements and removals are
// renames inside the writable directory through scratch folders named after the process doing
// them, so a crash at any step leaves the old or the new adapter under its id, or something the
// next start puts right (recoverInterrupted): an interrupted replace gets the old copy back,
// half-made copies and half-deleted ones are removed. Only real folders are adapters; symbolic
// links are neither listed nor removed.
//
// Each file is checked once per version (files/fileVersion.ts): a listing reuses the validation
// of an adapter whose manifest and adapter file are unchanged, and an install validates its
// source once, then checks the copy by the hash of the bytes it wrote.

import {createHash} from "node:crypto";
import {createReadStream, createWriteStream} from "node:fs";
import {lstat, mkdir, open, readdir, rename, rm, stat, writeFile} from "node:fs/promises";
import {basename, dirname, join, resolve} from "node:path";
import {pipeline} from "node:stream/promises";
import {type FileVersion, fileVersion, sameVersion} from "../files/fileVersion";
import {isAbandoned, releaseScratchName, scratchName} from "../files/scratch";
import {type FileHasher, hashFile} from "../files/sha256";
import {quote} from "../messages/quote";
import type {BaseModelStructure} from "../model/fingerprint";
import {AdapterStoreError, AdapterValidationError} from "./errors";
import {ADAPTER_MANIFEST_FILE, adapterIdProblem} from "./manifest";
import {type ValidatedAdapter, validateAdapter} from "./validate";

/** The steps of an install and a removal, in order; tests stop the process at each one. */
export type StoreStep =
    | "install:staged" // the copy is complete in its scratch folder, with the bytes validated
    | "install:old-moved-aside" // replace only: the installed copy is renamed to a scratch folder
    | "install:new-in-place" // the new copy has its id
    | "install:old-removed" // replace only: the old copy is deleted
    | "remove:moved-aside"
    | "remove:deleted";

export interface AdapterStoreOptions {
    /** Searched after the writable directory, in order; never written. */
    readonly bundledDirs: readonly string[];
    /** Where `install` puts adapters; created on first install. */
    readonly writableDir: string;
    /** Called after each step of an install or removal (progress, and tests that interrupt one). */
    readonly onStep?: (step: StoreStep, id: string) => void;
    /** How adapter files are hashed (files/sha256.ts hashFile); tests count the calls. */
    readonly hashFile?: FileHasher;
}

/** A valid adapter folder as validated: reused while its manifest and adapter file are these versions. */
interface KnownValid {
    readonly manifest: FileVersion;
    readonly baseFingerprint: string;
    readonly adapter: ValidatedAdapter;
}

interface EntryLocation {
    readonly id: string;
    /** Absolute adapter directory. */
    readonly dir: string;
    readonly bundled: boolean;
}

export type AdapterEntry =
    | (EntryLocation & {readonly status: "valid"; readonly adapter: ValidatedAdapter})
    | (EntryLocation & {readonly status: "invalid"; readonly error: AdapterValidationError});

export interface InstallOptions {
    /** Replace an installed adapter with the same id, or shadow a bundled one. */
    readonly replace?: boolean;
}

/** Folders the store itself creates while installing or removing; never listed as adapters. */
const SCRATCH_PREFIX = ".";
type ScratchKind = "install" | "replaced" | "removed";
/** `.install-<id>-<pid>-<random>` etc.; ids may contain "-", so the tail is matched from the end. */
const SCRATCH_NAME = /^\.(install|replaced|removed)-(.+)-(\d+)-([0-9a-f]{8})$/;
/** Written by earlier versions (no owner pid): `.install-<id>-XXXXXX`, `.trash-<id>-<8 hex>`. */
const LEGACY_SCRATCH_NAME = /^\.(install|trash)-(.+)-([0-9A-Za-z]{6}|[0-9a-f]{8})$/;

/** What `recoverInterrupted` did, one line per scratch folder. */
export interface RecoveryReport {
    readonly restored: readonly string[];
    readonly removed: readonly string[];
}

export class AdapterStore {
    readonly writableDir: string;
    readonly bundledDirs: readonly string[];
    private readonly onStep: AdapterStoreOptions["onStep"];
    private readonly hash: FileHasher;
    /** Valid adapters by folder (this process's listings, installs and verifications). */
    private readonly known = new Map<string, KnownValid>();

    constructor(options: AdapterStoreOptions) {
        this.writableDir = resolve(options.writableDir);
        this.bundledDirs = options.bundledDirs.map((dir) => resolve(dir));
        this.onStep = options.onStep;
        this.hash = options.hashFile ?? hashFile;
    }

    /**
     * Every adapter id once: a user-installed adapter shadows a bundled one with the same id.
     * One bad adapter becomes an "invalid" entry with its validation error; it never fails the list.
     * An adapter validated before whose files are the versions validated is not validated again.
     */
    async list(base: BaseModelStructure): Promise<AdapterEntry[]> {
        await this.recoverInterrupted();
        const entries: AdapterEntry[] = [];
        const locations = await this.locations();
        for (const location of locations) entries.push(await this.check(location, base, "reuse"));
        const listed = new Set(locations.map((location) => location.dir));
        for (const dir of this.known.keys()) if (!listed.has(dir)) this.known.delete(dir);
        return entries.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    }

    /** Re-validates one adapter (hash included, never from an earlier check); throws AdapterValidationError if it is bad. */
    async verify(id: string, base: BaseModelStructure): Promise<ValidatedAdapter> {
        await this.recoverInterrupted();
        const location = await this.locate(id);
        if (location === undefined)
            throw new AdapterStoreError("not-found", `No adapter ${quote(id)} in ${this.describeDirs()}.`);
        const entry = await this.check(location, base, "validate");
        if (entry.status === "invalid") throw entry.error;
        return entry.adapter;
    }

    /**
     * Validates `source` (an adapter directory or its manifest.json), then copies its manifest and
     * adapter file into `<writableDir>/<id>/`. A failed or interrupted install leaves the store as
     * it was (after `recoverInterrupted`, which every store operation runs first). The source is
     * validated once; the copy is the manifest text validated and the adapter bytes hashed as they
     * are written, refused unless they hash to what was validated.
     */
    async install(source: string, base: BaseModelStructure, options: InstallOptions = {}): Promise<ValidatedAdapter> {
        await this.recoverInterrupted();
        const sourceDir = await adapterDirOf(source);
        const validated = await validateAdapter(sourceDir, base, this.hash);
        const {id} = validated.manifest;
        const existing = await this.locate(id);
        if (existing !== undefined && !options.replace)
            throw new AdapterStoreError(
                "already-exists",
                `An adapter "${id}" is already ${existing.bundled ? "bundled" : "installed"} at ${existing.dir}; pass replace to ${existing.bundled ? "shadow" : "replace"} it.`,
            );

        await mkdir(this.writableDir, {recursive: true});
        const target = join(this.writableDir, id);
        await this.refuseNonFolder(target, id);
        const stagingName = scratchName(`${SCRATCH_PREFIX}install-${id}-`);
        const staging = join(this.writableDir, stagingName);
        let backupName: string | undefined;
        let stagedVersion: FileVersion | null = null;
        try {
            await mkdir(staging);
            await writeDurably(join(staging, ADAPTER_MANIFEST_FILE), validated.manifestText);
            const stagedFile = join(staging, validated.manifest.file);
            // The source could change between validation and copy: the bytes copied must be the ones validated.
            if ((await copyHashed(validated.ggufPath, stagedFile)) !== validated.sha256)
                throw new AdapterStoreError(
                    "bad-source",
                    `${sourceDir} changed while it was being installed; try again.`,
                );
            // A rename keeps the inode and times: this is the installed file's version.
            stagedVersion = await fileVersion(stagedFile);
            this.step("install:staged", id);

            if (options.replace && (await entryKind(target)) === "folder") {
                backupName = scratchName(`${SCRATCH_PREFIX}replaced-${id}-`);
                await rename(target, join(this.writableDir, backupName));
                this.step("install:old-moved-aside", id);
            }
            try {
                await rename(staging, target);
            } catch (error) {
                if (backupName !== undefined) {
                    await rename(join(this.writableDir, backupName), target).catch(() => undefined);
                    releaseScratchName(backupName);
                    backupName = undefined;
                }
                const code = (error as NodeJS.ErrnoException).code;
                if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR")
                    throw new AdapterStoreError(
                        "already-exists",
                        `An adapter "${id}" appeared at ${target} meanwhile.`,
                    );
                throw error;
            }
            await syncDir(this.writableDir);
            this.step("install:new-in-place", id);
            if (backupName !== undefined) {
                await rm(join(this.writableDir, backupName), {recursive: true, force: true});
                this.step("install:old-removed", id);
            }
        } catch (error) {
            await rm(staging, {recursive: true, force: true});
            throw error;
        } finally {
            releaseScratchName(stagingName);
            if (backupName !== undefined) releaseScratchName(backupName);
        }
        const ggufPath = join(target, validated.manifest.file);
        const installed: ValidatedAdapter = {
            ...validated,
            dir: target,
            manifestPath: join(target, ADAPTER_MANIFEST_FILE),
            ggufPath,
            header: {...validated.header, filePath: ggufPath},
            version: stagedVersion ?? validated.version,
        };
        const manifestVersion = await fileVersion(installed.manifestPath);
        if (stagedVersion !== null && manifestVersion !== null)
            this.known.set(target, {manifest: manifestVersion, baseFingerprint: base.fingerprint, adapter: installed});
        else this.known.delete(target);
        return installed;
    }

    /** Removes a user-installed adapter; bundled adapters are read-only. */
    async remove(id: string): Promise<void> {
        const idProblem = adapterIdProblem(id);
        if (idProblem !== null)
            throw new AdapterStoreError("bad-id", `${quote(id)} is not a valid adapter id: it ${idProblem}.`);
        await this.recoverInterrupted();
        const target = join(this.writableDir, id);
        const kind = await entryKind(target);
        if (kind !== "folder" && kind !== "missing")
            throw new AdapterStoreError(
                "not-a-folder",
                `${target} is ${kind === "symlink" ? "a symbolic link" : "not a folder"}, which the store does not list or manage; remove it yourself if you mean to.`,
            );
        if (kind === "missing") {
            const bundled = await this.findBundled(id);
            if (bundled !== undefined)
                throw new AdapterStoreError(
                    "read-only",
                    `Adapter "${id}" is bundled (${bundled}) and cannot be removed; only adapters installed in ${this.writableDir} can.`,
                );
            throw new AdapterStoreError("not-found", `No adapter ${quote(id)} in ${this.describeDirs()}.`);
        }
        // Rename first so the id disappears at once, even if deleting the files is slow or fails.
        const trashName = scratchName(`${SCRATCH_PREFIX}removed-${id}-`);
        try {
            await rename(target, join(this.writableDir, trashName));
            this.known.delete(target);
            this.step("remove:moved-aside", id);
            await rm(join(this.writableDir, trashName), {recursive: true, force: true});
            this.step("remove:deleted", id);
        } finally {
            releaseScratchName(trashName);
        }
    }

    /**
     * Puts right what interrupted installs and removals left in the writable directory: an old
     * copy moved aside by a replace comes back if its id is empty, every other abandoned scratch
     * folder is deleted. Folders of operations still running (in this or another live process)
     * are left alone. Never throws: what cannot be done now is tried again next time.
     */
    async recoverInterrupted(): Promise<RecoveryReport> {
        const restored: string[] = [];
        const removed: string[] = [];
        const names = await readdir(this.writableDir).catch(() => [] as string[]);
        for (const name of names) {
            const scratch = parseScratchName(name);
            if (scratch === null || !scratch.abandoned) continue;
            const path = join(this.writableDir, name);
            try {
                if (scratch.kind === "replaced" || scratch.kind === "legacy-trash") {
                    const target = join(this.writableDir, scratch.id);
                    if (adapterIdProblem(scratch.id) === null && (await entryKind(target)) === "missing") {
                        await rename(path, target);
                        restored.push(`${scratch.id} (from ${name})`);
                        continue;
                    }
                }
                await rm(path, {recursive: true, force: true});
                removed.push(name);
            } catch {
                // Another process may be recovering the same folder; whatever is left is retried later.
            }
        }
        if (restored.length > 0 || removed.length > 0) await syncDir(this.writableDir);
        return {restored, removed};
    }

    private step(step: StoreStep, id: string): void {
        this.onStep?.(step, id);
    }

    /** A symbolic link or file where an adapter folder would go is the user's, not the store's. */
    private async refuseNonFolder(target: string, id: string): Promise<void> {
        const kind = await entryKind(target);
        if (kind === "symlink" || kind === "other")
            throw new AdapterStoreError(
                "not-a-folder",
                `${target} is ${kind === "symlink" ? "a symbolic link" : "not a folder"}; the store will not replace it with adapter "${id}". Move it away first.`,
            );
    }

    private describeDirs(): string {
        return [this.writableDir, ...this.bundledDirs].join(", ");
    }

    /** The adapter at `location`, from its last validation when `reuse` and its files are the versions validated. */
    private async check(
        location: EntryLocation,
        base: BaseModelStructure,
        mode: "reuse" | "validate",
    ): Promise<AdapterEntry> {
        const manifestVersion = await fileVersion(join(location.dir, ADAPTER_MANIFEST_FILE));
        const known = this.known.get(location.dir);
        if (
            mode === "reuse" &&
            known !== undefined &&
            known.baseFingerprint === base.fingerprint &&
            sameVersion(known.manifest, manifestVersion) &&
            sameVersion(known.adapter.version, await fileVersion(known.adapter.ggufPath))
        )
            return {...location, status: "valid", adapter: known.adapter};
        this.known.delete(location.dir);
        try {
            const adapter = await validateAdapter(location.dir, base, this.hash);
            if (adapter.manifest.id !== location.id)
                throw new AdapterValidationError(
                    "id-mismatch",
                    `${adapter.manifestPath}: id "${adapter.manifest.id}" differs from its folder name "${location.id}"`,
                );
            // The manifest's version from before it was read: a manifest edited meanwhile is validated again next time.
            if (manifestVersion !== null)
                this.known.set(location.dir, {manifest: manifestVersion, baseFingerprint: base.fingerprint, adapter});
            return {...location, status: "valid", adapter};
        } catch (error) {
            const validationError =
                error instanceof AdapterValidationError
                    ? error
                    : new AdapterValidationError(
                          "manifest-missing",
                          `${location.dir}: cannot read the adapter (${(error as Error).message})`,
                      );
            return {...location, status: "invalid", error: validationError};
        }
    }

    /** Adapter folders in precedence order (writable first), first occurrence of each id only. */
    private async locations(): Promise<EntryLocation[]> {
        const seen = new Set<string>();
        const found: EntryLocation[] = [];
        const dirs = [
            {root: this.writableDir, bundled: false},
            ...this.bundledDirs.map((root) => ({root, bundled: true})),
        ];
        for (const {root, bundled} of dirs) {
            for (const id of await adapterFolders(root)) {
                if (seen.has(id)) continue;
                seen.add(id);
                found.push({id, dir: join(root, id), bundled});
            }
        }
        return found;
    }

    private async locate(id: string): Promise<EntryLocation | undefined> {
        if (adapterIdProblem(id) !== null) return undefined;
        if ((await entryKind(join(this.writableDir, id))) === "folder")
            return {id, dir: join(this.writableDir, id), bundled: false};
        const bundled = await this.findBundled(id);
        return bundled === undefined ? undefined : {id, dir: bundled, bundled: true};
    }

    private async findBundled(id: string): Promise<string | undefined> {
        for (const root of this.bundledDirs) {
            if ((await entryKind(join(root, id))) === "folder") return join(root, id);
        }
        return undefined;
    }
}

/** What is at `path`, without following a symbolic link (list and remove must agree on links). */
async function entryKind(path: string): Promise<"folder" | "symlink" | "other" | "missing"> {
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) return "missing";
    if (info.isSymbolicLink()) return "symlink";
    return info.isDirectory() ? "folder" : "other";
}

type ParsedScratch = {
    readonly kind: ScratchKind | "legacy-install" | "legacy-trash";
    readonly id: string;
    readonly abandoned: boolean;
};

function parseScratchName(name: string): ParsedScratch | null {
    const current = SCRATCH_NAME.exec(name);
    if (current !== null) {
        const [, kind, id, pid] = current;
        const owner = Number(pid);
        return {kind: kind as ScratchKind, id: id ?? "", abandoned: isAbandoned(name, owner)};
    }
    const legacy = LEGACY_SCRATCH_NAME.exec(name);
    if (legacy !== null) {
        // No owner recorded: only versions before this one wrote these, so nobody is still at it.
        const [, kind, id] = legacy;
        return {kind: kind === "trash" ? "legacy-trash" : "legacy-install", id: id ?? "", abandoned: true};
    }
    return null;
}

/**
 * Copies a file, hashing the bytes as they are written, and flushes it to disk (a renamed folder
 * never holds a file the OS had not written yet); returns the sha256 of what was written.
 */
async function copyHashed(from: string, to: string): Promise<string> {
    const hash = createHash("sha256");
    await pipeline(
        createReadStream(from, {highWaterMark: 1 << 20}),
        async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
                hash.update(chunk);
                yield chunk;
            }
        },
        createWriteStream(to, {flags: "wx"}),
    );
    await flush(to);
    return hash.digest("hex");
}

/** Writes a file and flushes it to disk. */
async function writeDurably(path: string, text: string): Promise<void> {
    await writeFile(path, text, {flag: "wx"});
    await flush(path);
}

async function flush(path: string): Promise<void> {
    const handle = await open(path, "r+");
    try {
        await handle.sync();
    } finally {
        await handle.close();
    }
}

/** Makes renames inside `dir` durable; not every platform can open a folder, so failures are ignored. */
async function syncDir(dir: string): Promise<void> {
    const handle = await open(dir, "r").catch(() => undefined);
    if (handle === undefined) return;
    await handle.sync().catch(() => undefined);
    await handle.close().catch(() => undefined);
}

/** Subfolders that could be adapters; a missing root is an empty store, not an error. */
async function adapterFolders(root: string): Promise<string[]> {
    const dirents = await readdir(root, {withFileTypes: true}).catch(() => []);
    return dirents
        .filter((dirent) => dirent.isDirectory() && !dirent.name.startsWith(SCRATCH_PREFIX))
        .map((dirent) => dirent.name)
        .sort();
}

async function adapterDirOf(source: string): Promise<string> {
    const sourceStat = await stat(source).catch(() => undefined);
    // (stat, not lstat: a source given by the user may well be a link to an adapter folder.)
    if (sourceStat === undefined)
        throw new AdapterValidationError("manifest-missing", `${source}: no such adapter directory or manifest`);
    if (sourceStat.isDirectory()) return resolve(source);
    if (basename(source) !== ADAPTER_MANIFEST_FILE)
        throw new AdapterStoreError(
            "bad-source",
            `${source}: give an adapter directory or its ${ADAPTER_MANIFEST_FILE}, not another file`,
        );
    return resolve(dirname(source));
}
