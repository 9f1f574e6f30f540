// The engine in one process: base model, installed artifacts, context pool. The isolation
// layer runs it in a child process; tests and the benchmark may also use it directly.

import {AdapterStore} from "./adapters/store";
import {expandCalibration} from "./calibrations/expand";
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
import {ContextPool} from "./runtime/contextPool";
import {DECODING, type Decoding} from "./runtime/decoding";
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
    private readonly expansions = new Map<string, Promise<string>>();

    private constructor(
        readonly config: EngineConfig,
        readonly base: BaseModelStructure,
        private readonly runtime: LlamaRuntime,
        private readonly pool: ContextPool,
        private readonly adapters: AdapterStore,
        private readonly calibrations: CalibrationStore,
        inventory: Inventory,
    ) {
        this.inventory = inventory;
    }

    static async open(config: EngineConfig, onLog?: (level: string, message: string) => void): Promise<Engine> {
        const header = await readGgufHeader(config.modelPath);
        const base = describeBaseModel(header);
        const adapters = new AdapterStore({bundledDirs: config.adapterDirs, writableDir: config.userAdapterDir});
        const calibrations = new CalibrationStore(config.calibrationDirs);
        const inventory = await loadInventory(adapters, calibrations, base, onLog);
        const runtime = await openRuntime({modelPath: config.modelPath, threads: config.threads, onLog});
        const pool = new ContextPool(runtime, {
            contextSize: config.contextSize,
            maxContexts: config.maxContexts,
            flashAttention: config.flashAttention,
        });
        return new Engine(config, base, runtime, pool, adapters, calibrations, inventory);
    }

    /** Re-reads adapters and calibrations from disk, e.g. after an install. */
    async refresh(onLog?: (level: string, message: string) => void): Promise<void> {
        this.inventory = await loadInventory(this.adapters, this.calibrations, this.base, onLog);
    }

    get installed(): Inventory {
        return this.inventory;
    }

    async compose(request: ComposeRequest, options: Omit<ComposeOptions, "maxTokens"> = {}): Promise<ComposeResult> {
        const recipe = buildRecipe(request.chain, request.method, this.inventory);
        const model = this.runtime.model;
        const runner = {
            pool: this.pool,
            resolveMix: (pass: Pass) => passMix(pass, (p) => this.expandedCalibration(p)),
            countTokens: (text: string) => model.tokenize(text, false).length,
            decoding: this.config.decoding ?? DECODING,
        };
        const maxTokens = request.maxTokens ?? this.config.maxTokens;
        return runRecipe(recipe, request.input, runner, {...options, ...(maxTokens === undefined ? {} : {maxTokens})});
    }

    /**
     * The expanded LoRA file of a pass's calibration. Reading and hashing the compact file is
     * done once per calibration (keyed by its sha256), not on every request.
     */
    private expandedCalibration(pass: Pass): Promise<string | null> {
        const calibration = pass.calibration;
        if (calibration === null) return Promise.resolve(null);
        let expanded = this.expansions.get(calibration.sha256);
        if (expanded === undefined) {
            expanded = readCalibration(calibration.filePath).then((stored) =>
                expandCalibration(
                    stored,
                    pass.adapters.map((use) => ({sha256: use.adapter.sha256, ggufPath: use.adapter.filePath})),
                    this.base,
                    this.config.cacheDir,
                ),
            );
            // A failed expansion is not remembered: the next request tries again.
            expanded.catch(() => this.expansions.delete(calibration.sha256));
            this.expansions.set(calibration.sha256, expanded);
        }
        return expanded;
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
