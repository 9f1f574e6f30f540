// `node dist/bench-base.js`: compares base model files of one structure (the pinned default and
// the files derived from it, engine/model/requantize.ts) as llama.cpp runs them, one thread:
//   quality  the next-token distribution of each candidate against the reference's: KL(ref || cand)
//            teacher-forced along the reference's greedy continuation, on dev prompts without and
//            with a task adapter, and how far the greedy continuations agree;
//   speed    prompt and decode tokens/s, the files alternating in one process;
//   rss      peak and final RSS of one process per file (context as the engine makes it).
// docs/base-model.md records the results and the commands.

import {spawn} from "node:child_process";
import {readFileSync} from "node:fs";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join, resolve} from "node:path";
import {parseArgs} from "node:util";
import {getLlama, type Llama, LlamaLogLevel, type LlamaModel, type Token} from "node-llama-cpp";
import {AdapterStore} from "../engine/adapters/store";
import {fuseMix} from "../engine/calibrations/fusedMix";
import {CalibrationStore} from "../engine/calibrations/store";
import {chainPrompt, type PromptTemplate, promptTemplate} from "../engine/compose/prompt";
import {buildRecipe} from "../engine/compose/recipe";
import {parseTaskChain} from "../engine/compose/taskChain";
import {installedPack, packageRoot} from "../engine/config";
import {metaStringArray, readGgufHeader} from "../engine/gguf";
import type {QuantTarget} from "../engine/gguf/quant";
import {loadInventory} from "../engine/inventory";
import {DEFAULT_ENGINE_LIMITS} from "../engine/limits";
import {describeBaseModel} from "../engine/model/fingerprint";
import {requantizeModel} from "../engine/model/requantize";
import {tokenizePrompt} from "../engine/runtime/generate";
import {type Summary, summarize} from "./stats";

const USAGE = `bench-base: base model files compared (docs/base-model.md)

  node dist/bench-base.js quality --reference REF.gguf --candidate A.gguf [--candidate B.gguf]
                          [--set plain|adapter|composite] [--prompts 20] [--positions 16]
  node dist/bench-base.js speed   --reference REF.gguf --candidate A.gguf [--rounds 3]
                          [--prompt-tokens 256] [--decode-tokens 64]
  node dist/bench-base.js rss     --reference REF.gguf --candidate A.gguf [--rounds 2]
  node dist/bench-base.js derive  --model IN.gguf --to Q8_0|Q4_0 --out OUT.gguf   (what "composer models fetch <id>" does, any target)
Common: --threads 1 --data-dir ../shared/data`;

interface Options {
    readonly reference: string;
    readonly candidates: string[];
    readonly threads: number;
    readonly dataDir: string;
    readonly root: string;
}

// ---- inputs ----------------------------------------------------------------------------------

function dialogues(dataDir: string, count: number): string[] {
    return readFileSync(join(dataDir, "dialogsum", "dialogsum.dev.jsonl"), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .slice(0, count)
        .map((line) => (JSON.parse(line) as {dialogue: string}).dialogue.trim());
}

function newsSentences(dataDir: string, count: number): string[] {
    return readFileSync(join(dataDir, "ntrex", "newstest2019-src.eng.txt"), "utf8")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.split(" ").length >= 8)
        .slice(0, count);
}

interface PromptCase {
    readonly label: string;
    readonly template: PromptTemplate;
    readonly input: string;
    /** A task adapter applied at scale 1, or none. */
    readonly adapter: string | null;
}

function adapterCase(root: string, id: string): {file: string; template: PromptTemplate} {
    const dir = join(root, "adapters", id);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
        promptTemplate: string;
        stopStrings: string[];
        file: string;
    };
    return {file: join(dir, manifest.file), template: promptTemplate(manifest.promptTemplate, manifest.stopStrings)};
}

/**
 * The LC++ composite of `chain` as the engine runs it: the recipe's one pass, its adapters and
 * calibration fused into one LoRA file (calibrations/fusedMix.ts), written under `workDir`.
 */
async function compositeCase(chainText: string, options: Options, workDir: string) {
    const pack = installedPack(options.root);
    const base = describeBaseModel(await readGgufHeader(options.reference));
    const inventory = await loadInventory(
        new AdapterStore({bundledDirs: pack.adapterDirs, writableDir: join(workDir, "user-adapters")}),
        new CalibrationStore(pack.calibrationDirs),
        base,
    );
    const [pass] = buildRecipe(parseTaskChain(chainText), "lc++", inventory).passes;
    const fused = await fuseMix(
        {
            adapters: pass.adapters.map((use) => ({...use.adapter, scale: use.scale})),
            calibration: pass.calibration,
        },
        base,
        workDir,
    );
    return {file: fused.filePath, template: pass.prompt};
}

type PromptSet = "plain" | "adapter" | "composite";

/**
 * DialogSum dev dialogues and NTREX sentences. "plain": the summarize and translate:fr prompts,
 * no adapter; "adapter": the summarize adapter on dialogues, tone-casual on sentences;
 * "composite": LC++ summarize+translate:fr and reply+tone:casual (fused, as the engine runs them)
 * on dialogues.
 */
async function promptCases(set: PromptSet, options: Options, count: number, workDir: string): Promise<PromptCase[]> {
    const half = Math.ceil(count / 2);
    const texts = dialogues(options.dataDir, half);
    const sentences = newsSentences(options.dataDir, count - half);
    if (set === "plain")
        return [
            ...texts.map((input, i) => ({
                label: `dialogsum dev ${i} summarize`,
                template: chainPrompt(parseTaskChain("summarize")),
                input,
                adapter: null,
            })),
            ...sentences.map((input, i) => ({
                label: `ntrex ${i} translate:fr`,
                template: chainPrompt(parseTaskChain("translate:fr")),
                input,
                adapter: null,
            })),
        ];
    if (set === "composite") {
        const french = await compositeCase("summarize+translate:fr", options, workDir);
        const casual = await compositeCase("reply+tone:casual", options, workDir);
        const inputs = dialogues(options.dataDir, count);
        return inputs.map((input, i) => {
            const which = i < half ? french : casual;
            return {
                label: `dialogsum dev ${i} ${i < half ? "LC++ summarize+translate:fr" : "LC++ reply+tone:casual"}`,
                template: which.template,
                input,
                adapter: which.file,
            };
        });
    }
    const summarizer = adapterCase(options.root, "gemma3-270m.summarize");
    const casual = adapterCase(options.root, "gemma3-270m.tone-casual");
    return [
        ...texts.map((input, i) => ({
            label: `dialogsum dev ${i} + summarize adapter`,
            template: summarizer.template,
            input,
            adapter: summarizer.file,
        })),
        ...sentences.map((input, i) => ({
            label: `ntrex ${i} + tone-casual adapter`,
            template: casual.template,
            input,
            adapter: casual.file,
        })),
    ];
}

// ---- models ----------------------------------------------------------------------------------

async function openLlama(threads: number): Promise<Llama> {
    return getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error});
}

async function contextFor(model: LlamaModel, threads: number, adapter: string | null, contextSize = 2048) {
    return model.createContext({
        contextSize,
        sequences: 1,
        threads,
        flashAttention: DEFAULT_ENGINE_LIMITS.flashAttention,
        lora: adapter === null ? undefined : {adapters: [{filePath: adapter, scale: 1}]},
    });
}

// ---- quality ---------------------------------------------------------------------------------

function toDistribution(probabilities: Map<Token, number> | undefined, vocabulary: number): Float64Array {
    if (probabilities === undefined) throw new Error("node-llama-cpp returned no probabilities");
    const out = new Float64Array(vocabulary);
    for (const [token, p] of probabilities) out[token] = p;
    return out;
}

/** KL(p || q) in nats; a token q gives probability 0 counts as 1e-30 (and is reported). */
function klDivergence(p: Float64Array, q: Float64Array): {kl: number; zeros: number} {
    let kl = 0;
    let zeros = 0;
    for (let i = 0; i < p.length; i++) {
        const pi = p[i] ?? 0;
        if (pi <= 0) continue;
        let qi = q[i] ?? 0;
        if (qi <= 0) {
            zeros++;
            qi = 1e-30;
        }
        kl += pi * (Math.log(pi) - Math.log(qi));
    }
    return {kl, zeros};
}

function argmax(p: Float64Array): number {
    let best = 0;
    for (let i = 1; i < p.length; i++) if ((p[i] ?? 0) > (p[best] ?? 0)) best = i;
    return best;
}

interface CandidateQuality {
    readonly file: string;
    readonly klPerPosition: Summary;
    readonly meanKl: number;
    readonly maxKl: number;
    /** Mean over prompts of the mean KL over its positions. */
    readonly meanKlPerPrompt: number[];
    /** Positions where the candidate's top token is the reference's greedy token. */
    readonly top1Agreement: number;
    /** Prompts whose whole greedy continuation (all positions) is the reference's. */
    readonly identicalGreedy: number;
    /** Per prompt: tokens before the first greedy disagreement (= positions when none). */
    readonly agreedPrefix: number[];
    readonly zeroProbabilityTokens: number;
    /** Where greedy first differs: the reference's top two probabilities there show how close a call it was. */
    readonly disagreements: {
        label: string;
        position: number;
        reference: [string, number];
        referenceSecond: [string, number];
        candidate: [string, number];
    }[];
}

function topTwo(p: Float64Array): [number, number] {
    let first = 0;
    let second = 1;
    if ((p[second] ?? 0) > (p[first] ?? 0)) [first, second] = [second, first];
    for (let i = 2; i < p.length; i++) {
        const v = p[i] ?? 0;
        if (v > (p[first] ?? 0)) {
            second = first;
            first = i;
        } else if (v > (p[second] ?? 0)) second = i;
    }
    return [first, second];
}

async function quality(options: Options, set: PromptSet, count: number, positions: number) {
    const workDir = await mkdtemp(join(tmpdir(), "bench-base-"));
    try {
        return await qualityIn(workDir, options, set, count, positions);
    } finally {
        await rm(workDir, {recursive: true, force: true});
    }
}

async function qualityIn(workDir: string, options: Options, set: PromptSet, count: number, positions: number) {
    const cases = await promptCases(set, options, count, workDir);
    const vocabulary = metaStringArray(await readGgufHeader(options.reference), "tokenizer.ggml.tokens").length;
    const llama = await openLlama(options.threads);
    const files = [options.reference, ...options.candidates];
    const models = await Promise.all(files.map((modelPath) => llama.loadModel({modelPath})));
    const reference = models[0] as LlamaModel;
    const perCandidate = options.candidates.map(() => ({
        kls: [] as number[],
        perPrompt: [] as number[],
        top1: 0,
        identical: 0,
        prefix: [] as number[],
        zeros: 0,
        disagreements: [] as CandidateQuality["disagreements"],
    }));
    const examples: {label: string; promptTokens: number; reference: string}[] = [];
    const started = performance.now();
    for (const [index, item] of cases.entries()) {
        // The reference, greedily: its distribution at each position and the token it picks.
        const refContext = await contextFor(reference, options.threads, item.adapter);
        const refSequence = refContext.getSequence();
        const prompt = tokenizePrompt(reference, item.template, item.input);
        const refDistributions: Float64Array[] = [];
        const greedy: Token[] = [];
        let next: Token[] = prompt;
        for (let position = 0; position < positions; position++) {
            const last = next.length - 1;
            const outputs = await refSequence.controlledEvaluate(
                next.map((token, i) => (i === last ? [token, {generateNext: {probabilities: true}}] : token)),
            );
            const distribution = toDistribution(outputs[last]?.next.probabilities, vocabulary);
            refDistributions.push(distribution);
            const token = argmax(distribution) as Token;
            greedy.push(token);
            next = [token];
        }
        await refContext.dispose();
        examples.push({label: item.label, promptTokens: prompt.length, reference: reference.detokenize(greedy)});

        // Each candidate, teacher-forced along the reference's tokens.
        for (const [c, model] of models.slice(1).entries()) {
            const stats = perCandidate[c];
            if (stats === undefined) continue;
            const context = await contextFor(model, options.threads, item.adapter);
            const sequence = context.getSequence();
            const forced = [...prompt, ...greedy.slice(0, -1)];
            const firstScored = prompt.length - 1;
            const outputs = await sequence.controlledEvaluate(
                forced.map((token, i) => (i >= firstScored ? [token, {generateNext: {probabilities: true}}] : token)),
            );
            await context.dispose();
            let sum = 0;
            let prefix = -1;
            for (let position = 0; position < positions; position++) {
                const q = toDistribution(outputs[firstScored + position]?.next.probabilities, vocabulary);
                const p = refDistributions[position] as Float64Array;
                const {kl, zeros} = klDivergence(p, q);
                stats.kls.push(kl);
                stats.zeros += zeros;
                sum += kl;
                const top = argmax(q);
                if (top === greedy[position]) stats.top1++;
                else if (prefix < 0) {
                    prefix = position;
                    const [first, second] = topTwo(p);
                    const piece = (token: number) => model.detokenize([token as Token]);
                    stats.disagreements.push({
                        label: item.label,
                        position,
                        reference: [piece(first), p[first] ?? 0],
                        referenceSecond: [piece(second), p[second] ?? 0],
                        candidate: [piece(top), q[top] ?? 0],
                    });
                }
            }
            stats.perPrompt.push(sum / positions);
            stats.prefix.push(prefix < 0 ? positions : prefix);
            if (prefix < 0) stats.identical++;
        }
        process.stderr.write(
            `[${index + 1}/${cases.length}] ${item.label}: ${prompt.length} prompt tokens, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
        );
    }
    await Promise.all(models.map((model) => model.dispose()));
    await llama.dispose();
    const candidates: CandidateQuality[] = options.candidates.map((file, c) => {
        const stats = perCandidate[c] as (typeof perCandidate)[number];
        return {
            file,
            klPerPosition: summarize(stats.kls),
            meanKl: stats.kls.reduce((a, b) => a + b, 0) / stats.kls.length,
            maxKl: Math.max(...stats.kls),
            meanKlPerPrompt: stats.perPrompt,
            top1Agreement: stats.top1 / stats.kls.length,
            identicalGreedy: stats.identical,
            agreedPrefix: stats.prefix,
            zeroProbabilityTokens: stats.zeros,
            disagreements: stats.disagreements,
        };
    });
    return {
        section: "quality",
        set,
        reference: options.reference,
        prompts: cases.length,
        positions,
        threads: options.threads,
        candidates,
        examples,
    };
}

// ---- speed -----------------------------------------------------------------------------------

async function speed(options: Options, rounds: number, promptTokens: number, decodeTokens: number) {
    const llama = await openLlama(options.threads);
    const files = [options.reference, ...options.candidates];
    const models = await Promise.all(files.map((modelPath) => llama.loadModel({modelPath})));
    const contexts = await Promise.all(
        models.map((model) => contextFor(model, options.threads, null, DEFAULT_ENGINE_LIMITS.contextSize)),
    );
    // Plain text the base model continues (no turn markup, so no early end of turn).
    const text = dialogues(options.dataDir, 40).join("\n\n");
    // Wall time, and CPU time of this process: on a busy machine the second is far steadier (other
    // processes take wall time from one thread, not its CPU time; caches and memory are still shared).
    const samples = files.map(() => ({
        prompt: [] as number[],
        decode: [] as number[],
        promptCpu: [] as number[],
        decodeCpu: [] as number[],
        generated: [] as number[],
    }));
    const cpuMs = () => {
        const {user, system} = process.cpuUsage();
        return (user + system) / 1000;
    };
    for (let round = -1; round < rounds; round++) {
        // Round -1 warms every file up untimed; later rounds rotate which file goes first.
        for (let k = 0; k < files.length; k++) {
            const m = (k + Math.max(round, 0)) % files.length;
            const model = models[m] as LlamaModel;
            const sequence = (contexts[m] as Awaited<ReturnType<typeof contextFor>>).getSequence();
            const tokens = model.tokenize(text).slice(0, promptTokens + 1);
            const promptStart = performance.now();
            const promptCpuStart = cpuMs();
            await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, promptTokens));
            const promptMs = performance.now() - promptStart;
            const promptCpuMs = cpuMs() - promptCpuStart;
            let generated = 0;
            const decodeStart = performance.now();
            const decodeCpuStart = cpuMs();
            for await (const _token of sequence.evaluate(tokens.slice(promptTokens))) {
                if (++generated >= decodeTokens) break;
            }
            const decodeMs = performance.now() - decodeStart;
            const decodeCpuMs = cpuMs() - decodeCpuStart;
            await sequence.dispose();
            if (round < 0) continue;
            const s = samples[m] as (typeof samples)[number];
            s.prompt.push((promptTokens / promptMs) * 1000);
            s.decode.push((generated / decodeMs) * 1000);
            s.promptCpu.push((promptTokens / promptCpuMs) * 1000);
            s.decodeCpu.push((generated / decodeCpuMs) * 1000);
            s.generated.push(generated);
            process.stderr.write(
                `round ${round + 1}/${rounds} ${files[m]}: prompt ${((promptTokens / promptMs) * 1000).toFixed(0)} tok/s (${((promptTokens / promptCpuMs) * 1000).toFixed(0)} per CPU s), decode ${((generated / decodeMs) * 1000).toFixed(1)} tok/s (${((generated / decodeCpuMs) * 1000).toFixed(1)} per CPU s)\n`,
            );
        }
    }
    await Promise.all(contexts.map((context) => context.dispose()));
    await Promise.all(models.map((model) => model.dispose()));
    await llama.dispose();
    return {
        section: "speed",
        threads: options.threads,
        promptTokens,
        decodeTokens,
        rounds,
        files: files.map((file, m) => ({
            file,
            promptTokPerS: summarize(samples[m]?.prompt ?? []),
            decodeTokPerS: summarize(samples[m]?.decode ?? []),
            promptTokPerCpuS: summarize(samples[m]?.promptCpu ?? []),
            decodeTokPerCpuS: summarize(samples[m]?.decodeCpu ?? []),
            promptSamples: samples[m]?.prompt,
            decodeSamples: samples[m]?.decode,
            promptCpuSamples: samples[m]?.promptCpu,
            decodeCpuSamples: samples[m]?.decodeCpu,
        })),
    };
}

// ---- rss -------------------------------------------------------------------------------------

function statusKb(field: string): number {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
    return Number(match?.[1] ?? Number.NaN);
}

/** In a child process: load, one context as the engine makes it, a prompt and a few tokens; report RSS. */
async function rssProbe(modelPath: string, threads: number, dataDir: string): Promise<void> {
    const llama = await openLlama(threads);
    const model = await llama.loadModel({modelPath});
    const loadedKb = statusKb("VmRSS");
    const context = await contextFor(model, threads, null, DEFAULT_ENGINE_LIMITS.contextSize);
    const sequence = context.getSequence();
    const tokens = model.tokenize(dialogues(dataDir, 10).join("\n\n")).slice(0, 257);
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, 256));
    let generated = 0;
    for await (const _token of sequence.evaluate(tokens.slice(256))) if (++generated >= 32) break;
    process.stdout.write(
        `${JSON.stringify({loadedMb: loadedKb / 1024, finalMb: statusKb("VmRSS") / 1024, peakMb: statusKb("VmHWM") / 1024})}\n`,
    );
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

function runProbe(script: string, modelPath: string, options: Options): Promise<Record<string, number>> {
    return new Promise((resolvePromise, reject) => {
        const child = spawn(
            process.execPath,
            [
                script,
                "rss-probe",
                "--model",
                modelPath,
                "--threads",
                String(options.threads),
                "--data-dir",
                options.dataDir,
            ],
            {
                stdio: ["ignore", "pipe", "inherit"],
            },
        );
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString();
        });
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0
                ? resolvePromise(JSON.parse(out.trim()) as Record<string, number>)
                : reject(new Error(`rss probe exited with ${code}`)),
        );
    });
}

async function rss(options: Options, rounds: number, script: string) {
    const files = [options.reference, ...options.candidates];
    const samples = files.map(() => [] as Record<string, number>[]);
    for (let round = 0; round < rounds; round++)
        for (const [m, file] of files.entries()) {
            const result = await runProbe(script, file, options);
            samples[m]?.push(result);
            process.stderr.write(`round ${round + 1}/${rounds} ${file}: ${JSON.stringify(result)}\n`);
        }
    return {
        section: "rss",
        contextSize: DEFAULT_ENGINE_LIMITS.contextSize,
        files: files.map((file, m) => ({
            file,
            peakMb: summarize((samples[m] ?? []).map((s) => s.peakMb ?? Number.NaN)),
            loadedMb: summarize((samples[m] ?? []).map((s) => s.loadedMb ?? Number.NaN)),
            samples: samples[m],
        })),
    };
}

// ---- command line ----------------------------------------------------------------------------

function count(text: string | undefined, fallback: number, name: string): number {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number`);
    return value;
}

async function main(argv: string[]): Promise<void> {
    const [section, ...args] = argv;
    const {values} = parseArgs({
        args,
        options: {
            reference: {type: "string"},
            candidate: {type: "string", multiple: true},
            model: {type: "string"},
            set: {type: "string", default: "plain"},
            prompts: {type: "string"},
            positions: {type: "string"},
            rounds: {type: "string"},
            "prompt-tokens": {type: "string"},
            "decode-tokens": {type: "string"},
            threads: {type: "string", default: "1"},
            "data-dir": {type: "string"},
            to: {type: "string"},
            out: {type: "string"},
        },
    });
    const root = packageRoot(import.meta.url);
    const dataDir = resolve(values["data-dir"] ?? process.env.LAB_DATA_DIR ?? join(root, "..", "shared", "data"));
    const threads = count(values.threads, 1, "threads");
    if (section === "derive") {
        if (values.model === undefined || values.out === undefined || (values.to !== "Q8_0" && values.to !== "Q4_0"))
            throw new Error("derive needs --model IN.gguf --to Q8_0|Q4_0 --out OUT.gguf");
        const started = performance.now();
        const summary = await requantizeModel(values.model, values.out, values.to as QuantTarget);
        process.stdout.write(
            `${JSON.stringify({...summary, seconds: (performance.now() - started) / 1000}, null, 2)}\n`,
        );
        return;
    }
    if (section === "rss-probe") {
        if (values.model === undefined) throw new Error("rss-probe needs --model");
        return rssProbe(values.model, threads, dataDir);
    }
    if (values.reference === undefined || (values.candidate ?? []).length === 0) {
        process.stderr.write(`${USAGE}\n`);
        process.exitCode = 2;
        return;
    }
    const options: Options = {
        reference: values.reference,
        candidates: values.candidate ?? [],
        threads,
        dataDir,
        root,
    };
    let result: unknown;
    if (section === "quality") {
        if (values.set !== "plain" && values.set !== "adapter" && values.set !== "composite")
            throw new Error("--set is plain, adapter or composite");
        result = await quality(
            options,
            values.set,
            count(values.prompts, 20, "prompts"),
            count(values.positions, 16, "positions"),
        );
    } else if (section === "speed")
        result = await speed(
            options,
            count(values.rounds, 3, "rounds"),
            count(values["prompt-tokens"], 256, "prompt-tokens"),
            count(values["decode-tokens"], 64, "decode-tokens"),
        );
    else if (section === "rss") result = await rss(options, count(values.rounds, 2, "rounds"), process.argv[1] ?? "");
    else {
        process.stderr.write(`${USAGE}\n`);
        process.exitCode = 2;
        return;
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = 1;
});
