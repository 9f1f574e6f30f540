// A pack of bundled adapters in which one of them is installed a second time as the "joint expert"
// of a composite: a one-pass composite whose answer is known in advance (the summarizer's English
// for "summarize in French", a tone rewrite's copy for "summarize in a tone"), to exercise what the
// engine does with such answers (compose/recipe.ts languageRepair, stepsFallback).

import {cp, mkdir, mkdtemp, readFile, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {engineConfig, packIn} from "../../engine/config";
import {Engine} from "../../engine/engine";
import {realModelPath, repoRoot} from "./realModel";

export interface Relabel {
    readonly source: string;
    readonly jointId: string;
    readonly task: string;
}

/** Copies `bundled` adapters under `work`, and `source` again as `jointId`, the expert of `task`; returns the adapter folder. */
async function relabelledPack(work: string, bundled: readonly string[], relabel: Relabel): Promise<string> {
    const adapters = join(work, "adapters");
    for (const id of bundled) await cp(join(repoRoot(), "adapters", id), join(adapters, id), {recursive: true});
    const source = join(repoRoot(), "adapters", relabel.source);
    await mkdir(join(adapters, relabel.jointId), {recursive: true});
    await cp(join(source, "adapter.gguf"), join(adapters, relabel.jointId, "adapter.gguf"));
    const manifest = JSON.parse(await readFile(join(source, "manifest.json"), "utf8"));
    const relabelled = {...manifest, id: relabel.jointId, task: relabel.task};
    await writeFile(join(adapters, relabel.jointId, "manifest.json"), JSON.stringify(relabelled, null, 2));
    return adapters;
}

/** An engine on the real model over such a pack in a temporary folder; `close` disposes of both. */
export async function relabelledEngine(
    bundled: readonly string[],
    relabel: Relabel,
): Promise<{engine: Engine; close: () => Promise<void>}> {
    const work = await mkdtemp(join(tmpdir(), "composer-relabelled-"));
    const adapters = await relabelledPack(work, bundled, relabel);
    const engine = await Engine.open(
        engineConfig(await realModelPath(), packIn(work, {adapterDirs: [adapters]}), {threads: 2, maxContexts: 2}),
    );
    const close = async () => {
        await engine.dispose();
        await rm(work, {recursive: true, force: true});
    };
    return {engine, close};
}
