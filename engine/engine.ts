// The engine in one process: base model, installed artifacts, context pool. The isolation
// layer runs it in a child process; tests and the benchmark may also use it directly.

import {dirname} from "node:path";
import {fetchAdapter} from "./adapters/fetchAdapter";
import {type AdapterEntry, AdapterStore} from "./adapters/store";
import type {ValidatedAdapter} from "./adapters/validate";
import {CalibrationStore} from "./calibrations/store";
import {type ComposeOptions, type ComposeResult, passForm, runRecipe} from "./compose/composer";
import type {MethodChoice} from "./compose/methods";
import type {PromptTemplate} from "./compose/prompt";
import {buildRecipe, type ChainCapability, capabilities, type Inventory, mixKey, type Pass} from "./compose/recipe";
import {parseTaskChain, type TaskChain} from "./compose/taskChain";
import {readGgufHeader} from "./gguf";
import {type InventoryLog, loadInventory} from "./inventory";

export type {ChainCapability} from "./compose/recipe";

import {type BaseModelStructure, describeBaseModel} from "./model/fingerprint";
import {PassLoras} from "./passLoras";
import {IdleGate, type PreparationReport, type PreparationStep, type PreparedStep, prepare} from "./preparation";
import {attentionShape} from "./runtime/contextMemory";
import {ContextPool, contextPoolOptions, type PoolMemory} from "./runtime/contextPool";
import {DECODING, type Decoding} from "./runtime/decoding";
import {tokenizePrompt} from "./runtime/generate";
import {explainLoraFailure, LlamaLogTail} from "./runtime/llamaLogTail";
import {type LlamaRuntime, openRuntime} from "./runtime/llamaRuntime";

export interface EngineConfig {
    readonly modelPath: string;
    /** Read-only adapter folders (the bundled pack first), searched after the user folder. */
    readonly adapterDirs: readonly string[];
    /** Where installed adapters go. */
    readonly userAdapterDir: string;
    readonly calibrationDirs: readonly string[];
    /** Expanded calibrations and other derived files. */
    readonly cacheDir: string;
    readonly threads?: number;
    /** The largest context in tokens; a request gets the smallest size that holds it (runtime/contextPool.ts). */
    readonly contextSize: number;
    /** Tokens evaluated at once. */
    readonly batchSize: number;
    /** What warm contexts and the LoRA files they use may hold in memory together, beyond the base model. */
    readonly contextMemoryBytes: number;
    /** A cap on the number of warm contexts as well; absent: memory alone bounds them. */
    readonly maxContexts?: number;
    /** A limit on every generation; absent: each task's own budget (compose/length.ts). */
    readonly maxTokens?: number;
    /** Default: DECODING (runtime/decoding.ts); the benchmark compares it with the paper's. */
    readonly decoding?: Decoding;
    readonly flashAttention: boolean;
}

export interface ComposeRequest {
    readonly chain: TaskChain;
    readonly method: MethodChoice;
    readonly input: string;
    readonly maxTokens?: number;
}

/** Per request: streaming callbacks, a cancel signal, and the LoRA form (default "fused"; compose/composer.ts). */
export type EngineComposeOptions = Omit<ComposeOptions, "maxTokens">;

/** Where an adapter to install comes from: a folder (or its manifest.json), or an https manifest pinned by its sha256. */
export type AdapterSource =
    | {readonly kind: "folder"; readonly path: string}
    | {readonly kind: "url"; readonly url: string; readonly sha256: string};

interface AdapterPlace {
    readonly id: string;
    readonly dir: string;
    readonly bundled: boolean;
}

/** An installed adapter as callers in other processes see it. */
export interface ValidAdapterSummary extends AdapterPlace {
    readonly valid: true;
    /** The chain key of its task. */
    readonly task: string;
    /** The base model's name its manifest records. */
    readonly base: string;
    readonly sha256: string;
    /** Installed for its calibrations; the task runs on another adapter when one is installed. */
    readonly keptForCalibrations: boolean;
}

/** An adapter folder that failed validation, with the reason (code: AdapterValidationError's). */
export interface InvalidAdapterSummary extends AdapterPlace {
    readonly valid: false;
    readonly code: string;
    readonly reason: string;
}

export type AdapterSummary = ValidAdapterSummary | InvalidAdapterSummary;

function summarizeValid(place: AdapterPlace, adapter: ValidatedAdapter): ValidAdapterSummary {
    const {manifest, sha256} = adapter;
    return {
        ...place,
        valid: true,
        task: manifest.chainKey,
        base: manifest.base.name,
        sha256,
        keptForCalibrations: manifest.keptForCalibrations,
    };
}

function summarize(entry: AdapterEntry): AdapterSummary {
    const {id, dir, bundled} = entry;
    if (entry.status === "invalid")
        return {id, dir, bundled, valid: false, code: entry.error.code, reason: entry.error.message};
    return summarizeValid({id, dir, bundled}, entry.adapter);
}

export interface EngineStatus {
    readonly model: {path: string; name: string; architecture: string; fingerprint: string};
    readonly threads: number;
    readonly adapters: number;
    readonly calibrations: number;
    readonly contexts: number;
    /** The warm contexts and LoRAs against their memory budget. */
    readonly memory: PoolMemory;
}

export class Engine {
    private inventory: Inventory;
    /** Each pass's LoRA files as llama.cpp is given them (passLoras.ts). */
    private readonly passLoras: PassLoras;
    /** Requests in flight: background preparation runs only between them. */
    private readonly gate = new IdleGate();
    /** The preparation under way (preparation.ts) and how to stop it; null before prepareInBackground. */
    private preparation: {readonly stop: AbortController; readonly report: Promise<PreparationReport>} | null = null;
    private preparedStep: ((step: PreparedStep) => void) | undefined;

    private constructor(
        readonly config: EngineConfig,
        readonly base: BaseModelStructure,
        private readonly runtime: LlamaRuntime,
        private readonly pool: ContextPool,
        private readonly adapters: AdapterStore,
        private readonly calibrations: CalibrationStore,
        inventory: Inventory,
        private readonly logTail: LlamaLogTail,
    ) {
        this.inventory = inventory;
        this.passLoras = new PassLoras(base, config.cacheDir);
        void this.passLoras.prune(inventory.adapters);
    }

    static async open(config: EngineConfig, onLog?: (level: string, message: string) => void): Promise<Engine> {
        const header = await readGgufHeader(config.modelPath);
        const base = describeBaseModel(header);
        const adapters = new AdapterStore({bundledDirs: config.adapterDirs, writableDir: config.userAdapterDir});
        const calibrations = new CalibrationStore(config.calibrationDirs);
        const inventory = await loadInventory(adapters, calibrations, base, onLog);
        const logTail = new LlamaLogTail();
        const runtime = await openRuntime({
            modelPath: config.modelPath,
            threads: config.threads,
            onLog: (level, message) => {
                logTail.record(level, message);
                onLog?.(level, message);
            },
        });
        const pool = new ContextPool(runtime, contextPoolOptions(config, attentionShape(header)));
        return new Engine(config, base, runtime, pool, adapters, calibrations, inventory, logTail);
    }

    /** Re-reads adapters and calibrations from disk, e.g. after an install. */
    async refresh(onLog?: (level: string, message: string) => void): Promise<void> {
        this.inventory = await loadInventory(this.adapters, this.calibrations, this.base, onLog);
        await this.passLoras.prune(this.inventory.adapters);
        // What is installed changed: prepare its composites instead (made files are found again).
        if (this.preparation !== null) this.prepareInBackground(this.preparedStep);
    }

    /**
     * Starts preparing, between requests, what first requests would otherwise wait for
     * (preparation.ts): every context shape's estimate, then every installed composite's fused
     * LoRA. Restarted with the new inventory after a refresh. The report says what each step took.
     */
    prepareInBackground(onStep?: (step: PreparedStep) => void): Promise<PreparationReport> {
        this.preparation?.stop.abort();
        this.preparedStep = onStep;
        const stop = new AbortController();
        const report = prepare(this.preparationSteps(), this.gate, stop.signal, onStep);
        this.preparation = {stop, report};
        return report;
    }

    /** The latest preparation's report once it ends (a refresh restarts it: then the new one's); null if none started. */
    async preparationReport(): Promise<PreparationReport | null> {
        for (;;) {
            const current = this.preparation;
            if (current === null) return null;
            const report = await current.report;
            if (this.preparation === current) return report;
        }
    }

    private preparationSteps(): PreparationStep[] {
        const shapes = this.pool.shapes().map((shape) => ({
            what: `context shape ${shape.contextSize} tokens`,
            run: () => this.runtime.estimateContext(shape),
        }));
        const mixes = new Map<string, PreparationStep>();
        const passes: Pass[] = [];
        for (const capability of capabilities(this.inventory)) {
            if (!capability.onePass) continue;
            const recipe = buildRecipe(parseTaskChain(capability.chain), "auto", this.inventory);
            for (const pass of recipe.passes)
                if (passForm(pass, "fused") === "fused" && !mixes.has(mixKey(pass))) {
                    passes.push(pass);
                    mixes.set(mixKey(pass), {
                        what: `${capability.chain} (${recipe.method}) fused LoRA`,
                        run: () => this.passLoras.mix(pass, "fused"),
                    });
                }
        }
        // Last: what was derived for files no longer installed (a replaced adapter, an older pack).
        const prune = {what: "unused derived files forgotten", run: () => this.passLoras.pruneDerived(passes)};
        return [...shapes, ...mixes.values(), prune];
    }

    /** Every adapter, user-installed ones first; one that fails validation is listed with the reason. */
    async listAdapters(): Promise<AdapterSummary[]> {
        return (await this.adapters.list(this.base)).map(summarize);
    }

    /** Re-validates one adapter (hash included) against this base model; throws the reason it is not valid. */
    async verifyAdapter(id: string): Promise<ValidAdapterSummary> {
        return this.summarizeInstalled(await this.adapters.verify(id, this.base));
    }

    /**
     * Validates and installs an adapter (AdapterStore.install: atomic, nothing is left on failure),
     * then re-reads what is installed. A URL is fetched into a scratch folder first; `signal`
     * stops the download, not an install that has begun.
     */
    async installAdapter(
        source: AdapterSource,
        options: {readonly replace?: boolean; readonly signal?: AbortSignal; readonly onLog?: InventoryLog} = {},
    ): Promise<ValidAdapterSummary> {
        const {replace = false, signal, onLog} = options;
        // Logged because a refusal's notification goes away; the log keeps what was tried and why.
        const from = source.kind === "folder" ? source.path : source.url;
        onLog?.("info", `Installing the adapter from ${from}`);
        let installed: ValidatedAdapter;
        try {
            if (source.kind === "folder") installed = await this.adapters.install(source.path, this.base, {replace});
            else {
                const fetched = await fetchAdapter(source.url, source.sha256, {
                    scratchRoot: this.config.cacheDir,
                    signal,
                });
                try {
                    signal?.throwIfAborted();
                    installed = await this.adapters.install(fetched.dir, this.base, {replace});
                } finally {
                    await fetched.cleanup();
                }
            }
        } catch (error) {
            onLog?.("warn", `The adapter from ${from} was not installed: ${(error as Error).message ?? error}`);
            throw error;
        }
        await this.refresh(onLog);
        return this.summarizeInstalled(installed);
    }

    private summarizeInstalled(adapter: ValidatedAdapter): ValidAdapterSummary {
        // The store keeps user-installed adapters at <writableDir>/<id>; anything else is bundled.
        const bundled = dirname(adapter.dir) !== this.adapters.writableDir;
        return summarizeValid({id: adapter.manifest.id, dir: adapter.dir, bundled}, adapter);
    }

    /** Removes a user-installed adapter (bundled ones are read-only), then re-reads what is installed. */
    async removeAdapter(id: string, onLog?: InventoryLog): Promise<void> {
        await this.adapters.remove(id);
        await this.refresh(onLog);
    }

    get decoding(): Decoding {
        return this.config.decoding ?? DECODING;
    }

    get installed(): Inventory {
        return this.inventory;
    }

    /** chain -> recipe (compose/recipe.ts) -> each pass's LoRA mix (passLoras.ts) and context -> text (compose/composer.ts). */
    async compose(request: ComposeRequest, options: EngineComposeOptions = {}): Promise<ComposeResult> {
        const recipe = buildRecipe(request.chain, request.method, this.inventory);
        const model = this.runtime.model;
        const runner = {
            mixes: this.passLoras,
            pool: this.pool,
            countTokens: (text: string) => model.tokenize(text, false).length,
            promptTokens: (prompt: PromptTemplate, text: string) => tokenizePrompt(model, prompt, text).length,
            decoding: this.decoding,
        };
        const maxTokens = request.maxTokens ?? this.config.maxTokens;
        const started = Date.now();
        const leave = this.gate.enter();
        try {
            return await runRecipe(recipe, request.input, runner, {
                ...options,
                ...(maxTokens === undefined ? {} : {maxTokens}),
            });
        } catch (error) {
            throw await explainLoraFailure(error, this.logTail, started);
        } finally {
            leave();
        }
    }

    /** How each chain runs with what is installed (compose/recipe.ts decides; callers display it). */
    capabilities(): ChainCapability[] {
        return capabilities(this.inventory);
    }

    status(): EngineStatus {
        return {
            model: {
                path: this.config.modelPath,
                name: this.base.name,
                architecture: this.base.architecture,
                fingerprint: this.base.fingerprint,
            },
            threads: this.runtime.threads,
            adapters: this.inventory.adapters.length,
            calibrations: this.inventory.calibrations.length,
            contexts: this.pool.size,
            memory: this.pool.memory(),
        };
    }

    async dispose(): Promise<void> {
        // A step under way (a native estimate, a file being fused) finishes before the model goes.
        this.preparation?.stop.abort();
        await this.preparation?.report;
        await this.pool.dispose();
        await this.runtime.dispose();
    }
}
