// The engine in one process: base model, installed artifacts, context pool. The isolation
// layer runs it in a child process; tests and the benchmark may also use it directly.

import {join} from "node:path";
import {AdapterStore} from "./adapters/store";
import {expandCalibration, type FileStamp, fileStamp, isUnchanged} from "./calibrations/expand";
import {readCalibration} from "./calibrations/read";
import {CalibrationStore} from "./calibrations/store";
import {type ComposeOptions, type ComposeResult, passMix, runRecipe} from "./compose/composer";
import type {MethodChoice} from "./compose/methods";
import {buildRecipe, type ChainCapability, capabilities, type Inventory, type Pass} from "./compose/recipe";
import type {TaskChain} from "./compose/taskChain";
import {readGgufHeader} from "./gguf";
import {loadInventory} from "./inventory";

export type {ChainCapability} from "./compose/recipe";

import {type BaseModelStructure, describeBaseModel} from "./model/fingerprint";
import {type ContextMix, ContextPool} from "./runtime/contextPool";
import {DECODING, type Decoding} from "./runtime/decoding";
import {explainLoraFailure, LlamaLogTail} from "./runtime/llamaLogTail";
import {type LlamaRuntime, openRuntime} from "./runtime/llamaRuntime";
import {ContentAddressedLoras} from "./runtime/loraFiles";

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
    readonly contextSize: number;
    readonly maxContexts: number;
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

export interface EngineStatus {
    readonly model: {path: string; name: string; architecture: string; fingerprint: string};
    readonly threads: number;
    readonly adapters: number;
    readonly calibrations: number;
    readonly contexts: number;
}

export class Engine {
    private inventory: Inventory;
    private readonly expansions = new Map<string, Promise<FileStamp>>();
    /** Task adapter files as llama.cpp is given them: named by content (runtime/loraFiles.ts says why). */
    private readonly loraFiles: ContentAddressedLoras;

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
        this.loraFiles = new ContentAddressedLoras(join(config.cacheDir, "adapters"));
        void this.loraFiles.prune(new Set(inventory.adapters.map((adapter) => adapter.sha256)));
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
        const pool = new ContextPool(runtime, {
            contextSize: config.contextSize,
            maxContexts: config.maxContexts,
            flashAttention: config.flashAttention,
        });
        return new Engine(config, base, runtime, pool, adapters, calibrations, inventory, logTail);
    }

    /** Re-reads adapters and calibrations from disk, e.g. after an install. */
    async refresh(onLog?: (level: string, message: string) => void): Promise<void> {
        this.inventory = await loadInventory(this.adapters, this.calibrations, this.base, onLog);
        await this.loraFiles.prune(new Set(this.inventory.adapters.map((adapter) => adapter.sha256)));
    }

    get decoding(): Decoding {
        return this.config.decoding ?? DECODING;
    }

    get installed(): Inventory {
        return this.inventory;
    }

    async compose(request: ComposeRequest, options: Omit<ComposeOptions, "maxTokens"> = {}): Promise<ComposeResult> {
        const recipe = buildRecipe(request.chain, request.method, this.inventory);
        const model = this.runtime.model;
        const runner = {
            pool: this.pool,
            resolveMix: (pass: Pass) => this.resolveMix(pass, (p) => this.expandedCalibration(p)),
            countTokens: (text: string) => model.tokenize(text, false).length,
            decoding: this.decoding,
        };
        const maxTokens = request.maxTokens ?? this.config.maxTokens;
        const started = Date.now();
        try {
            return await runRecipe(recipe, request.input, runner, {
                ...options,
                ...(maxTokens === undefined ? {} : {maxTokens}),
            });
        } catch (error) {
            throw await explainLoraFailure(error, this.logTail, started);
        }
    }

    /** A pass's adapter mix, each task adapter given to llama.cpp under its content-addressed name. */
    private async resolveMix(pass: Pass, expand: (pass: Pass) => Promise<string | null>): Promise<ContextMix> {
        const mix = await passMix(pass, expand);
        const sha256Of = new Map(pass.adapters.map((use) => [use.adapter.filePath, use.adapter.sha256]));
        const loras = await Promise.all(
            mix.loras.map(async (lora) => {
                const sha256 = sha256Of.get(lora.filePath);
                return sha256 === undefined
                    ? lora
                    : {...lora, filePath: await this.loraFiles.pathFor(lora.filePath, sha256)};
            }),
        );
        return {...mix, loras};
    }

    /**
     * The expanded LoRA file of a pass's calibration. Reading the compact file and verifying the
     * expansion (size and hash) is done once per calibration (keyed by its sha256); later
     * requests only check that the file's size and time are unchanged, else it is verified again.
     */
    private async expandedCalibration(pass: Pass): Promise<string | null> {
        const calibration = pass.calibration;
        if (calibration === null) return null;
        const known = this.expansions.get(calibration.sha256);
        if (known !== undefined) {
            const stamp = await known;
            if (await isUnchanged(stamp)) return stamp.path;
            if (this.expansions.get(calibration.sha256) === known) this.expansions.delete(calibration.sha256);
        }
        let expanded = this.expansions.get(calibration.sha256);
        if (expanded === undefined) {
            const started = readCalibration(calibration.filePath)
                .then((stored) =>
                    expandCalibration(
                        stored,
                        pass.adapters.map((use) => ({sha256: use.adapter.sha256, ggufPath: use.adapter.filePath})),
                        this.base,
                        this.config.cacheDir,
                    ),
                )
                .then(async (path) => (await fileStamp(path)) ?? {path, bytes: -1, mtimeMs: -1});
            // A failed expansion is not remembered: the next request tries again.
            started.catch(() => {
                if (this.expansions.get(calibration.sha256) === started) this.expansions.delete(calibration.sha256);
            });
            this.expansions.set(calibration.sha256, started);
            expanded = started;
        }
        return (await expanded).path;
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
        };
    }

    async dispose(): Promise<void> {
        await this.pool.dispose();
        await this.runtime.dispose();
    }
}
