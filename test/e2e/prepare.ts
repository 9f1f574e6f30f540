// Prepares what the VS Code end-to-end tests work on, next to the bundled (trained) pack: small random
// but valid task adapters and LC++ calibrations for the real default model (as in
// test/integration/engine.test.ts), so the tests of user-installed adapters do not depend on what the
// pack holds. "summarize" + "translate:fr" and their calibration are installed in the composer home
// the extension uses; "tone:paraphrase" + "translate:es" (with their calibration: "paraphrase in
// Spanish" is not one of the 14 variants, so the bundled pack never calibrates it) and a corrupt
// adapter are left in a pack folder for the tests to install through the extension.
// Usage: node dist/test/e2e/prepare.js <work dir> <composer home>

import {cp, mkdir, readFile, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {craftAdapter, randomLcppParameters} from "../../craft/gguf";
import {calibrationFileName} from "../../engine/calibrations/format";
import {calibrationFolderName} from "../../engine/calibrations/store";
import {writeCalibration} from "../../engine/calibrations/write";
import {chainPrompt} from "../../engine/compose/prompt";
import {parseTaskChain} from "../../engine/compose/taskChain";
import {readGgufHeader} from "../../engine/gguf";
import {type BaseModelStructure, describeBaseModel} from "../../engine/model/fingerprint";
import {realModelPath} from "../support/realModel";

async function calibrate(
    home: string,
    base: BaseModelStructure,
    chainText: string,
    adapters: {id: string; sha256: string}[],
    seed: number,
): Promise<void> {
    const chain = parseTaskChain(chainText);
    const prompt = chainPrompt(chain);
    const dir = join(home, "calibrations", calibrationFolderName(base));
    await mkdir(dir, {recursive: true});
    await writeCalibration(join(dir, calibrationFileName(chain, "lc++")), {
        architecture: base.architecture,
        chain,
        baseFingerprint: base.fingerprint,
        adapters: adapters.map((a, i) => ({...a, mergeWeight: i === 0 ? 0.9 : 0.8})),
        promptTemplate: prompt.template,
        stopStrings: prompt.stopStrings,
        training: {crafted: true, purpose: "e2e tests"},
        parameters: randomLcppParameters(base, 4, seed, 0.005),
    });
}

async function main(): Promise<void> {
    const [work, home] = process.argv.slice(2);
    if (work === undefined || home === undefined) throw new Error("usage: prepare.js <work dir> <composer home>");
    const modelPath = await realModelPath();
    const base = describeBaseModel(await readGgufHeader(modelPath));
    // Small random weights (scale) keep the base model's text readable in screenshots.
    const small = {scale: 0.002};

    const installed = join(home, "adapters");
    const summarize = await craftAdapter(join(installed, "test.summarize"), base, {
        ...small,
        task: "summarize",
        seed: 1,
    });
    const french = await craftAdapter(join(installed, "test.translate-fr"), base, {
        ...small,
        task: "translate:fr",
        seed: 2,
    });
    await calibrate(
        home,
        base,
        "summarize+translate:fr",
        [
            {id: "test.summarize", sha256: summarize.sha256},
            {id: "test.translate-fr", sha256: french.sha256},
        ],
        3,
    );

    const pack = join(work, "pack");
    const paraphrase = await craftAdapter(join(pack, "test.tone-paraphrase"), base, {
        ...small,
        task: "tone:paraphrase",
        seed: 4,
    });
    const spanish = await craftAdapter(join(pack, "test.translate-es"), base, {
        ...small,
        task: "translate:es",
        seed: 5,
    });
    await calibrate(
        home,
        base,
        "tone:paraphrase+translate:es",
        [
            {id: "test.tone-paraphrase", sha256: paraphrase.sha256},
            {id: "test.translate-es", sha256: spanish.sha256},
        ],
        6,
    );

    // An adapter served over https for "Install Adapter from URL...".
    await craftAdapter(join(pack, "test.tone-witty"), base, {...small, task: "tone:witty", seed: 7});

    // A corrupt adapter: the file was damaged after its manifest was written.
    const corrupt = join(pack, "test.corrupt");
    await cp(paraphrase.dir, corrupt, {recursive: true});
    const manifest = JSON.parse(await readFile(join(corrupt, "manifest.json"), "utf8"));
    await writeFile(join(corrupt, "manifest.json"), JSON.stringify({...manifest, id: "test.corrupt"}, null, 2));
    const bytes = await readFile(join(corrupt, "adapter.gguf"));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(corrupt, "adapter.gguf"), bytes);

    await writeFile(join(work, "model-path.txt"), modelPath);
    process.stderr.write(
        `[e2e-prepare] adapters and calibrations for ${base.name} (${base.fingerprint.slice(0, 12)})\n`,
    );
}

main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
});
