// `node dist/bench.js`: the quality, efficiency and speed benchmark. Generates through the engine exactly as a
// user's request does (Engine.compose, greedy, max 128 new tokens), caches every generation
// (resumable), scores them in one Python call, measures efficiency and speed, and writes a
// dated report (report.md, results.json, PNG charts). See bench/README.md.

import {existsSync, readFileSync} from "node:fs";
import {mkdtemp, readFile, rm} from "node:fs/promises";
import {cpus, tmpdir} from "node:os";
import {join, resolve} from "node:path";
import {METHODS} from "../engine/compose/methods";
import {chainKey, isComposite} from "../engine/compose/taskChain";
import {engineConfig, installedPack, packageRoot, packIn} from "../engine/config";
import {Engine, type EngineConfig} from "../engine/engine";
import {sha256File} from "../engine/files/sha256";
import {readGgufHeader} from "../engine/gguf";
import {describeBaseModel} from "../engine/model/fingerprint";
import {cachePaths} from "../engine/model/paths";
import {locateBaseModel, parseBaseModelSetting} from "../engine/model/setting";
import {DECODING, PAPER_DECODING} from "../engine/runtime/decoding";
import {parseArgs} from "./args";
import {GenerationCache, generationKey} from "./cache";
import {type AdapterShape, adapterShape, craftPack} from "./craftPack";
import {measureEfficiency} from "./efficiency";
import {loadEvalSet} from "./evalSet";
import {type FormalityResults, runFormality} from "./formality";
import {CONCURRENT_REQUESTS, type MemoryResults, runMemory} from "./memory";
import {type NewsResults, runNews} from "./news";
import {type PeerResults, runPeer} from "./peer";
import {Progress} from "./progress";
import {generationSeconds, planQuality, runQuality} from "./quality";
import {type RealTextResults, runRealText} from "./realText";
import {realTextShape} from "./realTextCommands";
import {type RealWorkResults, runRealWork, WORK} from "./realWork";
import {type BenchResults, type ExampleRow, writeReport} from "./report";
import {type AgainstBaseline, compareWithBaseline, type QualityScores, scoreQuality} from "./scoring";
import {runSpeed, SPEED_CHAIN, type SpeedResults, SWITCH_CHAIN, speedInputs} from "./speed";
import {runStartup, type StartupResults} from "./startup";

function dataRoot(root: string, dataDir: string | null): string {
    return dataDir ?? process.env.LAB_DATA_DIR ?? resolve(root, "..", "shared", "data");
}

async function main(): Promise<void> {
    const started = performance.now();
    const startedAt = new Date();
    const args = parseArgs(process.argv.slice(2));
    const root = packageRoot(import.meta.url);
    const progress = new Progress();
    const modelPath =
        args.model ?? (await locateBaseModel(parseBaseModelSetting(process.env.COMPOSER_MODEL), cachePaths().models));
    const base = describeBaseModel(await readGgufHeader(modelPath));
    const model = {
        path: modelPath,
        name: base.name,
        fingerprint: base.fingerprint,
        sha256: await sha256File(modelPath),
    };
    const work = await mkdtemp(join(tmpdir(), "composer-bench-"));
    const notes: string[] = [];
    try {
        // ---- the pack the quality run uses ----
        let config: EngineConfig;
        let packDescription: string;
        if (args.pack === "crafted") {
            const pack = await craftPack(join(work, "quality-pack"), base, {
                calibrated: args.variants,
                jointExperts: args.variants.slice(0, 1),
            });
            config = engineConfig(
                modelPath,
                packIn(join(work, "quality"), {adapterDirs: [pack.adapterDir], calibrationDirs: [pack.calibrationDir]}),
                {threads: args.threads, maxTokens: args.maxTokens},
            );
            packDescription = pack.description;
            notes.push("Quality pack is crafted (random weights): its scores mean nothing; it checks the plumbing.");
        } else {
            config = engineConfig(modelPath, installedPack(root), {
                threads: args.threads,
                maxTokens: args.maxTokens,
                decoding: args.decoding === "paper" ? PAPER_DECODING : DECODING,
            });
            packDescription = `installed (${config.adapterDirs.join(", ")}; ${config.calibrationDirs.join(", ")}; ${config.userAdapterDir})`;
        }
        const engine = await Engine.open(config, (level, message) => {
            if (level === "warn") progress.note(message);
        });
        const inventory = engine.installed;
        const pack = {
            kind: args.pack,
            description: packDescription,
            adapters: inventory.adapters.map((a) => ({
                id: a.id,
                chain: chainKey(a.chain),
                sha256: a.sha256,
                file: a.filePath,
            })),
            calibrations: inventory.calibrations.map((c) => ({
                file: c.filePath,
                sha256: c.sha256,
                kind: c.kind,
                chain: chainKey(c.chain),
            })),
        };
        if (!args.quality)
            notes.push(
                `Quality: not measured in this run (--no-quality); pending the trained pack (installed now: ${inventory.adapters.length} adapters, ${inventory.calibrations.length} calibrations). \`node dist/bench.js\` fills the quality tables once the lab's pack is installed.`,
            );
        else if (args.pack === "installed" && inventory.adapters.length === 0)
            notes.push(
                "No trained pack is installed yet (adapters/ and calibrations/ are empty): the engine offers only zero-shot, so the quality tables hold zero-shot alone.",
            );

        // ---- quality ----
        let quality: BenchResults["quality"] = null;
        let againstBaseline: AgainstBaseline | null = null;
        let formality: FormalityResults | null = null;
        let news: NewsResults | null = null;
        let evalInfo: Record<string, unknown> | null = null;
        const cache = await GenerationCache.open(resolve(args.out, "cache", "generations.jsonl"));
        try {
            if (args.quality) {
                const evalSet = await loadEvalSet(root, {
                    n: args.n,
                    seed: args.seed,
                    dataDir: args.dataDir,
                    targetsDir: args.targetsDir === null ? null : resolve(args.targetsDir),
                    shortest: args.shortest,
                    variants: args.variants,
                });
                evalInfo = {seed: evalSet.seed, n: evalSet.n, dataDir: evalSet.data_dir, files: evalSet.files};
                const missing = Object.entries(evalSet.references).filter(([, r]) => r.covered === 0);
                if (missing.length > 0)
                    notes.push(
                        `Composite references pending for ${missing.length}/${Object.keys(evalSet.references).length} variants (no lab/targets/<chain>.jsonl yet): their ROUGE columns say "pending ref."; language accuracy and chrF (XDailyDialog) need no composite reference and are measured.`,
                    );
                for (const [variant, r] of Object.entries(evalSet.references))
                    if (r.covered > 0)
                        notes.push(
                            `Composite references for ${variant}: ${r.file} (sha256 ${r.sha256?.slice(0, 12)}…; how they were built: the .meta.json beside it), covering ${r.covered} of ${evalSet.variants[variant]?.examples.length} inputs.`,
                        );
                const plan = planQuality(engine, evalSet, model, {methods: args.methods, maxTokens: args.maxTokens});
                const generations = await runQuality(engine, plan, cache, progress, args.maxTokens);
                progress.note(`scoring ${generations.size} generations`);
                const scores = await scoreQuality(root, evalSet, plan, generations);
                if (args.baseline !== null) {
                    const before = JSON.parse(await readFile(args.baseline, "utf8")) as {
                        quality?: Partial<Pick<QualityScores, "perInput" | "perInputWithoutPlaceholders">>;
                    };
                    const perInput = before.quality?.perInput;
                    if (perInput === undefined)
                        throw new Error(`${args.baseline} has no per-input quality scores to compare with.`);
                    againstBaseline = compareWithBaseline(args.baseline, scores, {
                        perInput,
                        perInputWithoutPlaceholders: before.quality?.perInputWithoutPlaceholders,
                    });
                }
                const examples: ExampleRow[] = [];
                const seenGroups = new Set<string>();
                for (const [variant, data] of Object.entries(evalSet.variants)) {
                    if (seenGroups.has(data.group)) continue;
                    seenGroups.add(data.group);
                    for (const example of data.examples.slice(0, args.quick ? 1 : 2)) {
                        const outputs: Record<string, string> = {};
                        for (const {method, configHash} of plan.methods[variant] ?? [])
                            outputs[method] =
                                generations.get(generationKey(variant, method, example.input, configHash))?.text ?? "";
                        examples.push({
                            variant,
                            id: example.id,
                            input: example.input,
                            reference: example.references[0] ?? null,
                            outputs,
                        });
                    }
                }
                quality = {
                    ...scores,
                    examples,
                    referencesStatus: evalSet.references,
                    generations: generations.size,
                    generationSeconds: generationSeconds(generations),
                    againstBaseline,
                };
            }
            const translationChecks = {
                n: args.n,
                seed: args.seed,
                dataDir: args.dataDir,
                languages: args.formalityLanguages,
                methods: args.methods,
                model,
                maxTokens: args.maxTokens,
            };
            if (args.formality) {
                formality = await runFormality(root, engine, cache, progress, translationChecks);
                news = await runNews(root, engine, cache, progress, translationChecks);
            }
        } finally {
            await engine.dispose();
        }

        // ---- real text and the real work timed: the user's engine (the CLI's and the editor's
        // defaults), not the paper suite's --max-tokens; the crafted (quick) pack keeps its short
        // plumbing-check budget ----
        let realText: RealTextResults | null = null;
        let realWork: RealWorkResults | null = null;
        if (args.realText || args.work) {
            const userConfig =
                args.pack === "installed"
                    ? engineConfig(modelPath, installedPack(root), {threads: args.threads})
                    : config;
            const userEngine = await Engine.open(userConfig, (level, message) => {
                if (level === "warn") progress.note(message);
            });
            try {
                if (args.realText)
                    realText = await runRealText(root, userEngine, cache, progress, {
                        shape: realTextShape({
                            quick: args.quick,
                            n: args.realTextN,
                            only: args.realTextCommands,
                            genres: args.realTextGenres,
                        }),
                        seed: args.seed,
                        dataDir: args.dataDir,
                        model,
                    });
                if (args.work)
                    realWork = await runRealWork(
                        userEngine,
                        {
                            root,
                            modelPath,
                            threads: args.threads,
                            emails: args.workEmails,
                            seed: args.seed,
                            dataDir: args.dataDir,
                            ...(args.quick ? {only: [WORK[0]?.chain ?? SPEED_CHAIN], pytorch: false} : {}),
                        },
                        progress,
                    );
            } finally {
                await userEngine.dispose();
            }
        }

        // ---- speed (crafted pack of the real shapes) ----
        let speed: SpeedResults | null = null;
        let speedPack: Awaited<ReturnType<typeof craftPack>> | null = null;
        if (
            args.speed ||
            !(["lc", "lc++"] as const).every((kind) => inventory.calibrations.some((c) => c.kind === kind))
        ) {
            // Same shapes as the installed (trained) task adapters where there are some.
            const shapes = new Map<string, AdapterShape>();
            for (const adapter of inventory.adapters)
                if (!isComposite(adapter.chain))
                    shapes.set(chainKey(adapter.chain), await adapterShape(adapter.filePath));
            speedPack = await craftPack(join(work, "speed-pack"), base, {
                calibrated: [SPEED_CHAIN, SWITCH_CHAIN],
                shapes,
            });
        }
        if (args.speed && speedPack !== null) {
            speed = await runSpeed(
                {
                    modelPath,
                    adapterDir: speedPack.adapterDir,
                    calibrationDir: speedPack.calibrationDir,
                    workDir: join(work, "speed"),
                    inputs: speedInputs(dataRoot(root, args.dataDir), args.speedInputs, args.shortest),
                    reps: args.reps,
                    switchReps: args.switchReps,
                    warmup: !args.quick,
                    maxTokens: args.speedMaxTokens,
                    threads: args.threads,
                    packDescription: speedPack.description,
                },
                progress,
            );
        }

        // ---- memory: the engine process as the editor runs it, installed pack, default settings ----
        let memory: MemoryResults | null = null;
        if (args.memory)
            memory = await runMemory(
                {
                    root,
                    modelPath,
                    inputs: speedInputs(dataRoot(root, args.dataDir), args.speedInputs, args.shortest),
                    maxTokens: args.speedMaxTokens,
                    threads: args.threads,
                    concurrentRequests: args.quick ? 8 : CONCURRENT_REQUESTS,
                    repeat: !args.quick,
                },
                progress,
            );

        // ---- from start to the first token: the engine process started as the extension starts it ----
        let startup: StartupResults | null = null;
        if (args.memory)
            startup = await runStartup(
                {
                    root,
                    modelPath,
                    input: readFileSync(join(root, "samples", "email.txt"), "utf8"),
                    threads: args.threads,
                },
                progress,
            );

        // ---- the PyTorch peer: the same LC++ composite through the lab's implementation ----
        let peer: PeerResults | null = null;
        if (args.peer) {
            const trained = inventory.calibrations.some((c) => chainKey(c.chain) === SPEED_CHAIN && c.kind === "lc++");
            if (!trained && speedPack === null) throw new Error("the peer comparison needs an LC++ pack");
            const peerPack = trained
                ? config
                : packIn(join(work, "peer"), {
                      adapterDirs: [speedPack?.adapterDir ?? ""],
                      calibrationDirs: [speedPack?.calibrationDir ?? ""],
                  });
            const peerEngine = await Engine.open(
                engineConfig(modelPath, peerPack, {threads: args.threads, maxTokens: args.maxTokens, maxContexts: 1}),
            );
            try {
                peer = await runPeer(
                    peerEngine,
                    {
                        root,
                        modelPath,
                        chain: SPEED_CHAIN,
                        inputs: speedInputs(dataRoot(root, args.dataDir), args.peerInputs, args.shortest),
                        maxTokens: args.speedMaxTokens,
                        threads: args.threads,
                        pack: trained ? packDescription : (speedPack?.description ?? ""),
                    },
                    progress,
                );
            } finally {
                await peerEngine.dispose();
            }
        }

        // ---- efficiency: the installed pack's files; kinds it lacks from the crafted speed pack ----
        let efficiency = await measureEfficiency(inventory, base, METHODS);
        const missing = (["lc", "lc++"] as const).filter(
            (kind) => !inventory.calibrations.some((c) => c.kind === kind),
        );
        if (missing.length > 0) {
            const probe = await Engine.open(
                engineConfig(
                    modelPath,
                    packIn(join(work, "probe"), {
                        adapterDirs: [speedPack?.adapterDir ?? ""],
                        calibrationDirs: [speedPack?.calibrationDir ?? ""],
                    }),
                    {threads: 1, maxContexts: 1},
                ),
            );
            try {
                const crafted = await measureEfficiency(probe.installed, base, METHODS);
                const rows = METHODS.flatMap((method) => {
                    const row = efficiency.rows.find((r) => r.method === method);
                    if (row !== undefined) return [row];
                    const other = crafted.rows.find((r) => r.method === method);
                    return other === undefined
                        ? []
                        : [{...other, source: `crafted (no trained one installed): ${other.source}`}];
                });
                efficiency = {
                    ...efficiency,
                    taskAdapters: efficiency.taskAdapters.length > 0 ? efficiency.taskAdapters : crafted.taskAdapters,
                    rows,
                };
            } finally {
                await probe.dispose();
            }
            notes.push(
                `Efficiency: ${missing.map((k) => k.toUpperCase()).join(" and ")} sizes are counted from the crafted speed pack's files (same format as the lab's: compact LC, rank-4 LC++), since no trained ${missing.join("/")} calibration is installed; everything else from the installed files.`,
            );
        }

        const date = startedAt.toISOString().slice(0, 10);
        const dir = resolve(args.out, args.label === null ? date : `${date}-${args.label}`);
        const llamaVersion = (() => {
            const path = join(root, "node_modules", "node-llama-cpp", "package.json");
            return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as {version: string}).version : "unknown";
        })();
        const results: BenchResults = {
            date,
            startedAt: startedAt.toISOString(),
            wallSeconds: (performance.now() - started) / 1000,
            command: `node dist/bench.js ${process.argv.slice(2).join(" ")}`.trim(),
            quick: args.quick,
            config: {
                args,
                model,
                pack,
                speedPack: speedPack?.description ?? null,
                evalSet: evalInfo,
                decoding: {
                    name: args.decoding,
                    settings: config.decoding ?? DECODING,
                    maxTokens: args.maxTokens,
                    flashAttention: config.flashAttention,
                    contextSize: config.contextSize,
                },
                runtime: {
                    node: process.version,
                    nodeLlamaCpp: llamaVersion,
                    cpu: cpus()[0]?.model ?? "",
                    cores: cpus().length,
                    threads: args.threads,
                },
                seeds: {evalSample: args.seed, craftedPack: "craftPack seeds 100+ (mulberry32)"},
            },
            quality,
            formality,
            news,
            realText,
            efficiency,
            speed,
            memory,
            startup,
            peer,
            work: realWork,
            notes,
        };
        const files = await writeReport(root, dir, results);
        progress.note(`report written to ${dir}: ${files.join(", ")}`);
    } finally {
        await rm(work, {recursive: true, force: true});
    }
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
});
