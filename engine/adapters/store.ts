// Task adapters on disk: read-only bundled pack directories plus one writable user directory,
// each holding `<id>/manifest.json` + the adapter file. Installs and removals are atomic renames
// inside the writable directory, so a crash never leaves a half-copied adapter under a real id.

import {randomBytes} from "node:crypto";
import {copyFile, mkdir, mkdtemp, readdir, rename, rm, stat} from "node:fs/promises";
import {basename, dirname, join, resolve} from "node:path";
import type {BaseModelStructure} from "../model/fingerprint";
import {AdapterStoreError, AdapterValidationError} from "./errors";
import {ADAPTER_ID_PATTERN, ADAPTER_MANIFEST_FILE} from "./manifest";
import {type ValidatedAdapter, validateAdapter} from "./validate";

export interface AdapterStoreOptions {
    /** Searched after the writable directory, in order; never written. */
    readonly bundledDirs: readonly string[];
    /** Where `install` puts adapters; created on first install. */
    readonly writableDir: string;
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

export class AdapterStore {
    readonly writableDir: string;
    readonly bundledDirs: readonly string[];

    constructor(options: AdapterStoreOptions) {
        this.writableDir = resolve(options.writableDir);
        this.bundledDirs = options.bundledDirs.map((dir) => resolve(dir));
    }

    /**
     * Every adapter id once: a user-installed adapter shadows a bundled one with the same id.
     * One bad adapter becomes an "invalid" entry with its validation error; it never fails the list.
     */
    async list(base: BaseModelStructure): Promise<AdapterEntry[]> {
        const entries: AdapterEntry[] = [];
        for (const location of await this.locations()) entries.push(await this.check(location, base));
        return entries.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    }

    /** Re-validates one adapter (hash included); throws AdapterValidationError if it is bad. */
    async verify(id: string, base: BaseModelStructure): Promise<ValidatedAdapter> {
        const location = await this.locate(id);
        if (location === undefined)
            throw new AdapterStoreError("not-found", `No adapter "${id}" in ${this.describeDirs()}.`);
        const entry = await this.check(location, base);
        if (entry.status === "invalid") throw entry.error;
        return entry.adapter;
    }

    /**
     * Validates `source` (an adapter directory or its manifest.json), then copies its manifest and
     * adapter file into `<writableDir>/<id>/`. A failed install leaves nothing behind.
     */
    async install(source: string, base: BaseModelStructure, options: InstallOptions = {}): Promise<ValidatedAdapter> {
        const sourceDir = await adapterDirOf(source);
        const validated = await validateAdapter(sourceDir, base);
        const {id} = validated.manifest;
        const existing = await this.locate(id);
        if (existing !== undefined && !options.replace)
            throw new AdapterStoreError(
                "already-exists",
                `An adapter "${id}" is already ${existing.bundled ? "bundled" : "installed"} at ${existing.dir}; pass replace to ${existing.bundled ? "shadow" : "replace"} it.`,
            );

        await mkdir(this.writableDir, {recursive: true});
        const target = join(this.writableDir, id);
        const staging = await mkdtemp(join(this.writableDir, `${SCRATCH_PREFIX}install-${id}-`));
        let trash: string | undefined;
        try {
            await copyFile(validated.manifestPath, join(staging, ADAPTER_MANIFEST_FILE));
            await copyFile(validated.ggufPath, join(staging, validated.manifest.file));
            // The source could change between validation and copy: check what actually landed.
            const copied = await validateAdapter(staging, base);
            if (copied.sha256 !== validated.sha256 || copied.manifest.id !== id)
                throw new AdapterStoreError(
                    "bad-source",
                    `${sourceDir} changed while it was being installed; try again.`,
                );

            if (options.replace && (await exists(target))) {
                trash = join(this.writableDir, `${SCRATCH_PREFIX}trash-${id}-${randomBytes(4).toString("hex")}`);
                await rename(target, trash);
            }
            try {
                await rename(staging, target);
            } catch (error) {
                if (trash !== undefined) await rename(trash, target).catch(() => undefined);
                trash = undefined;
                const code = (error as NodeJS.ErrnoException).code;
                if (code === "ENOTEMPTY" || code === "EEXIST")
                    throw new AdapterStoreError(
                        "already-exists",
                        `An adapter "${id}" appeared at ${target} meanwhile.`,
                    );
                throw error;
            }
        } catch (error) {
            await rm(staging, {recursive: true, force: true});
            throw error;
        } finally {
            if (trash !== undefined) await rm(trash, {recursive: true, force: true});
        }
        return validateAdapter(target, base);
    }

    /** Removes a user-installed adapter; bundled adapters are read-only. */
    async remove(id: string): Promise<void> {
        if (!ADAPTER_ID_PATTERN.test(id)) throw new AdapterStoreError("bad-id", `"${id}" is not a valid adapter id.`);
        const target = join(this.writableDir, id);
        if (!(await exists(target))) {
            const bundled = await this.findBundled(id);
            if (bundled !== undefined)
                throw new AdapterStoreError(
                    "read-only",
                    `Adapter "${id}" is bundled (${bundled}) and cannot be removed; only adapters installed in ${this.writableDir} can.`,
                );
            throw new AdapterStoreError("not-found", `No adapter "${id}" in ${this.describeDirs()}.`);
        }
        // Rename first so the id disappears at once, even if deleting the files is slow or fails.
        const trash = join(this.writableDir, `${SCRATCH_PREFIX}trash-${id}-${randomBytes(4).toString("hex")}`);
        await rename(target, trash);
        await rm(trash, {recursive: true, force: true});
    }

    private describeDirs(): string {
        return [this.writableDir, ...this.bundledDirs].join(", ");
    }

    private async check(location: EntryLocation, base: BaseModelStructure): Promise<AdapterEntry> {
        try {
            const adapter = await validateAdapter(location.dir, base);
            if (adapter.manifest.id !== location.id)
                throw new AdapterValidationError(
                    "id-mismatch",
                    `${adapter.manifestPath}: id "${adapter.manifest.id}" differs from its folder name "${location.id}"`,
                );
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
        if (!ADAPTER_ID_PATTERN.test(id)) return undefined;
        if (await exists(join(this.writableDir, id))) return {id, dir: join(this.writableDir, id), bundled: false};
        const bundled = await this.findBundled(id);
        return bundled === undefined ? undefined : {id, dir: bundled, bundled: true};
    }

    private async findBundled(id: string): Promise<string | undefined> {
        for (const root of this.bundledDirs) {
            if (await exists(join(root, id))) return join(root, id);
        }
        return undefined;
    }
}

async function exists(path: string): Promise<boolean> {
    return (await stat(path).catch(() => undefined)) !== undefined;
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
