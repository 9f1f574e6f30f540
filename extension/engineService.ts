// The engine as the extension sees it: one EngineClient (a child process running
// dist/engine-host.js with the extension host's own Node, so a llama.cpp crash never takes the
// editor down), its state for the status bar, and the installed capabilities for the menus.
// Everything that reads a model or artifact file, or fetches one, happens in that process:
// here the settings only become a file path and requests.

import * as vscode from "vscode";
import type {ComposeResult} from "../engine/compose/composer";
import type {ChainCapability} from "../engine/compose/recipe";
import {hostScriptPath} from "../engine/config";
import type {AdapterSource, AdapterSummary, EngineStatus, ValidAdapterSummary} from "../engine/engine";
import {type ComposeCall, EngineClient} from "../engine/isolation/engineClient";
import type {ModelFetchProgress} from "../engine/model/fetch";
import {type CachePaths, cachePaths} from "../engine/model/paths";
import {locateBaseModel, ModelNotAvailableError, parseBaseModelSetting} from "../engine/model/setting";
import {type ComposerSettings, engineConfigFor, packFor, readSettings} from "./settings";

const DOWNLOADS_KEY = "composer.downloadedModels";

export type EngineState =
    | {readonly kind: "starting"}
    | {readonly kind: "ready"; readonly model: string; readonly adapters: number; readonly calibrations: number}
    | {readonly kind: "no-model"; readonly message: string}
    | {readonly kind: "error"; readonly message: string};

export class EngineService implements vscode.Disposable {
    /**
     * The one engine process: with the model open once ready; without a model (for a model fetch
     * only) while there is none or it could not be opened.
     */
    private client: EngineClient | null = null;
    private starting: Promise<void> | null = null;
    private stateValue: EngineState = {kind: "starting"};
    private capabilityList: ChainCapability[] = [];
    /** A model fetch is running (on `client`, which must not be replaced meanwhile). */
    private fetching = false;
    /** A restart was asked for during the fetch; it happens when the fetch ends. */
    private restartAfterFetch = false;
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

    private rememberDownload(setting: string, path: string): Thenable<void> | undefined {
        const known = this.memento?.get<Record<string, string>>(DOWNLOADS_KEY) ?? {};
        return this.memento?.update(DOWNLOADS_KEY, {...known, [setting]: path});
    }

    /** The model file for the setting: a file, the default in the cache, or a URI downloaded before. */
    private async modelPath(setting: string): Promise<string> {
        const parsed = parseBaseModelSetting(setting, this.extensionRoot);
        if (parsed.kind === "uri") {
            const path = this.memento?.get<Record<string, string>>(DOWNLOADS_KEY)?.[setting];
            if (path !== undefined) return locateBaseModel({kind: "file", path}, this.cache.models);
        }
        return locateBaseModel(parsed, this.cache.models);
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
        if (this.fetching) {
            // The download runs in the current engine process: restart once it has ended.
            this.restartAfterFetch = true;
            return Promise.resolve();
        }
        this.starting = this.open().finally(() => {
            this.starting = null;
        });
        return this.starting;
    }

    /** Resolves once the engine is ready; throws the reason it is not. */
    async ready(): Promise<EngineClient> {
        if (this.starting !== null) await this.starting;
        if (this.fetching && this.stateValue.kind !== "ready")
            throw new Error(
                vscode.l10n.t("Composer is downloading its model; it can write once the download is done."),
            );
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

    adapterDirs(): string[] {
        return packFor(this.settings(), this.extensionRoot, this.cache).adapterDirs.slice();
    }

    async compose(call: ComposeCall): Promise<ComposeResult> {
        const client = await this.ready();
        const maxTokens = call.maxTokens ?? this.settings().maxTokens;
        return client.compose({...call, ...(maxTokens > 0 ? {maxTokens} : {})});
    }

    /** Re-reads installed adapters and calibrations (after files changed outside Composer). */
    async refresh(): Promise<void> {
        const client = await this.ready();
        this.showReady(await client.refresh());
        await this.loadCapabilities(client);
    }

    /** Every adapter the engine finds, each with its verdict. */
    async listAdapters(): Promise<AdapterSummary[]> {
        return (await this.ready()).listAdapters();
    }

    /** Re-validates an installed adapter; throws the engine's reason (with its code) when it is not valid. */
    async verifyAdapter(id: string): Promise<ValidAdapterSummary> {
        return (await this.ready()).verifyAdapter(id);
    }

    /** Installs an adapter in the engine, which validates it first; the menus follow. */
    async installAdapter(
        source: AdapterSource,
        options: {readonly replace?: boolean; readonly signal?: AbortSignal} = {},
    ): Promise<ValidAdapterSummary> {
        const client = await this.ready();
        const {adapter, status} = await client.installAdapter(source, options);
        this.showReady(status);
        await this.loadCapabilities(client);
        return adapter;
    }

    async removeAdapter(id: string): Promise<void> {
        const client = await this.ready();
        this.showReady(await client.removeAdapter(id));
        await this.loadCapabilities(client);
    }

    /**
     * Fetches the model of the "base model" setting through the engine process (one without a
     * model when there is none yet), then restarts the engine on it. Throws the engine's reason,
     * or RequestCancelledError after a cancel.
     */
    async fetchModel(options: {
        readonly signal?: AbortSignal;
        readonly onProgress?: (progress: ModelFetchProgress) => void;
    }): Promise<string> {
        if (this.fetching) throw new Error(vscode.l10n.t("The model is already being downloaded."));
        this.fetching = true;
        let fetched = false;
        try {
            if (this.starting !== null) await this.starting;
            if (this.client === null) this.client = this.modelFreeClient();
            const setting = this.settings().baseModel;
            const path = await this.client.fetchModel(parseBaseModelSetting(setting, this.extensionRoot), {
                modelsDir: this.cache.models,
                ...options,
            });
            await this.rememberDownload(setting, path);
            fetched = true;
            return path;
        } finally {
            this.fetching = false;
            const restart = fetched || this.restartAfterFetch;
            this.restartAfterFetch = false;
            if (restart) await this.start();
        }
    }

    /** An engine process that opens no model: it can fetch one. */
    private modelFreeClient(): EngineClient {
        return new EngineClient({
            hostScript: hostScriptPath(this.extensionRoot),
            onLog: (level, message) => this.writeLog(level, message),
        });
    }

    private showReady(status: EngineStatus): void {
        this.setState({
            kind: "ready",
            model: status.model.name,
            adapters: status.adapters,
            calibrations: status.calibrations,
        });
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
            const status = await client.status();
            this.log.info(
                `Engine ready: ${status.model.name}, ${status.threads} threads, ${status.adapters} adapters, ${status.calibrations} calibrations.`,
            );
            await this.loadCapabilities(client);
            this.showReady(status);
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
