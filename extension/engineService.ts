// The engine as the extension sees it: one EngineClient (a child process running
// dist/engine-host.js with the extension host's own Node, so a llama.cpp crash never takes the
// editor down), its state for the status bar, and the installed capabilities for the menus.

import * as vscode from "vscode";
import type {ComposeResult} from "../engine/compose/composer";
import type {ChainCapability} from "../engine/compose/recipe";
import {hostScriptPath} from "../engine/config";
import {readGgufHeader} from "../engine/gguf";
import {type ComposeCall, EngineClient} from "../engine/isolation/engineClient";
import {type BaseModelStructure, describeBaseModel} from "../engine/model/fingerprint";
import {type CachePaths, cachePaths} from "../engine/model/paths";
import {ModelNotAvailableError, parseBaseModelSetting, resolveBaseModel} from "../engine/model/resolve";
import {type ComposerSettings, engineConfigFor, packFor, readSettings} from "./settings";

const DOWNLOADS_KEY = "composer.downloadedModels";

export type EngineState =
    | {readonly kind: "starting"}
    | {readonly kind: "ready"; readonly model: string; readonly adapters: number; readonly calibrations: number}
    | {readonly kind: "no-model"; readonly message: string}
    | {readonly kind: "error"; readonly message: string};

export class EngineService implements vscode.Disposable {
    private client: EngineClient | null = null;
    private starting: Promise<void> | null = null;
    private stateValue: EngineState = {kind: "starting"};
    private capabilityList: ChainCapability[] = [];
    private baseStructure: BaseModelStructure | null = null;
    private readonly stateEmitter = new vscode.EventEmitter<EngineState>();
    private readonly capabilitiesEmitter = new vscode.EventEmitter<readonly ChainCapability[]>();
    readonly onDidChangeState = this.stateEmitter.event;
    readonly onDidChangeCapabilities = this.capabilitiesEmitter.event;
    readonly cache: CachePaths = cachePaths();

    constructor(
        private readonly extensionRoot: string,
        private readonly log: vscode.LogOutputChannel,
        /** Remembers where URI models were downloaded to (the engine only resolves them by fetching). */
        private readonly memento?: vscode.Memento,
    ) {}

    logInfo(message: string): void {
        this.log.info(message);
    }

    rememberDownload(setting: string, path: string): Thenable<void> | undefined {
        const known = this.memento?.get<Record<string, string>>(DOWNLOADS_KEY) ?? {};
        return this.memento?.update(DOWNLOADS_KEY, {...known, [setting]: path});
    }

    /** The model file for the setting: a file, the default in the cache, or a URI downloaded before. */
    private async modelPath(setting: string): Promise<string> {
        const parsed = parseBaseModelSetting(setting, this.extensionRoot);
        if (parsed.kind === "uri") {
            const path = this.memento?.get<Record<string, string>>(DOWNLOADS_KEY)?.[setting];
            if (path !== undefined) return resolveBaseModel({kind: "file", path}, {modelsDir: this.cache.models});
        }
        return resolveBaseModel(parsed, {modelsDir: this.cache.models});
    }

    get state(): EngineState {
        return this.stateValue;
    }

    get capabilities(): readonly ChainCapability[] {
        return this.capabilityList;
    }

    settings(): ComposerSettings {
        const config = vscode.workspace.getConfiguration("composer");
        return readSettings((key) => config.get(key));
    }

    /** Starts (or restarts) the engine with the current settings; never throws. */
    start(): Promise<void> {
        this.starting = this.open().finally(() => {
            this.starting = null;
        });
        return this.starting;
    }

    /** Resolves once the engine is ready; throws the reason it is not. */
    async ready(): Promise<EngineClient> {
        if (this.starting !== null) await this.starting;
        if (this.client === null || this.stateValue.kind !== "ready") {
            await this.start();
        }
        const state = this.stateValue;
        if (this.client === null || state.kind !== "ready")
            throw new Error(
                state.kind === "no-model" || state.kind === "error" ? state.message : "The engine is not ready.",
            );
        return this.client;
    }

    /** The base model's structure (adapters and calibrations are checked against it). */
    async base(): Promise<BaseModelStructure> {
        await this.ready();
        if (this.baseStructure === null) throw new Error("The base model is not known yet.");
        return this.baseStructure;
    }

    adapterDirs(): string[] {
        return packFor(this.settings(), this.extensionRoot, this.cache).adapterDirs.slice();
    }

    async compose(call: ComposeCall): Promise<ComposeResult> {
        const client = await this.ready();
        const maxTokens = call.maxTokens ?? this.settings().maxTokens;
        return client.compose({...call, ...(maxTokens > 0 ? {maxTokens} : {})});
    }

    /** Re-reads installed adapters and calibrations (after an install or removal). */
    async refresh(): Promise<void> {
        const client = await this.ready();
        const status = await client.refresh();
        this.setState({
            kind: "ready",
            model: status.model.name,
            adapters: status.adapters,
            calibrations: status.calibrations,
        });
        await this.loadCapabilities(client);
    }

    private async open(): Promise<void> {
        await this.closeClient();
        this.setState({kind: "starting"});
        const settings = this.settings();
        let modelPath: string;
        try {
            modelPath = await this.modelPath(settings.baseModel);
        } catch (error) {
            const message = (error as Error).message;
            this.log.warn(message);
            this.setState(
                error instanceof ModelNotAvailableError ? {kind: "no-model", message} : {kind: "error", message},
            );
            return;
        }
        const config = engineConfigFor(settings, modelPath, this.extensionRoot, this.cache);
        this.log.info(`Starting the engine: model ${modelPath}; adapters ${config.adapterDirs.join(", ")}`);
        const client = new EngineClient({
            hostScript: hostScriptPath(this.extensionRoot),
            config,
            onLog: (level, message) => this.writeLog(level, message),
        });
        this.client = client;
        try {
            this.baseStructure = describeBaseModel(await readGgufHeader(modelPath));
            const status = await client.status();
            this.log.info(
                `Engine ready: ${status.model.name}, ${status.threads} threads, ${status.adapters} adapters, ${status.calibrations} calibrations.`,
            );
            await this.loadCapabilities(client);
            this.setState({
                kind: "ready",
                model: status.model.name,
                adapters: status.adapters,
                calibrations: status.calibrations,
            });
        } catch (error) {
            const message = (error as Error).message;
            this.log.error(`The engine could not start: ${message}`);
            if (this.client === client) this.client = null;
            await client.dispose();
            this.setState({kind: "error", message});
        }
    }

    private async loadCapabilities(client: EngineClient): Promise<void> {
        this.capabilityList = await client.capabilities();
        this.capabilitiesEmitter.fire(this.capabilityList);
    }

    private writeLog(level: string, message: string): void {
        if (level === "error") this.log.error(message);
        else if (level === "warn") this.log.warn(message);
        else if (level === "debug") this.log.debug(message);
        else this.log.info(message);
    }

    private setState(state: EngineState): void {
        this.stateValue = state;
        this.stateEmitter.fire(state);
    }

    private async closeClient(): Promise<void> {
        const client = this.client;
        this.client = null;
        await client?.dispose();
    }

    dispose(): void {
        void this.closeClient();
        this.stateEmitter.dispose();
        this.capabilitiesEmitter.dispose();
    }
}
