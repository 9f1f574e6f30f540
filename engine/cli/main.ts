#!/usr/bin/env node
// The engine's command line: compose text, manage adapters, calibrations and models.
// Composition goes through the isolated engine process, exactly as the editor does.

import {readFile} from "node:fs/promises";
import {parseArgs} from "node:util";
import {parseMethodChoice} from "../compose/methods";
import {parseTaskChain} from "../compose/taskChain";
import {engineConfig, hostScriptPath, installedPack, packageRoot} from "../config";
import {EngineClient} from "../isolation/engineClient";
import {messageForUser} from "../messages/quote";
import {DEFAULT_MODEL, KNOWN_MODELS} from "../model/catalog";
import {fetchBaseModel, locateOrDeriveBaseModel, type ModelFetchProgress} from "../model/fetch";
import {cachePaths} from "../model/paths";
import {locateBaseModel, parseBaseModelSetting} from "../model/setting";
import {runArtifactCommand} from "./artifacts";
import {chainsCommand} from "./chains";

const USAGE = `composer: one-pass composite writing tasks on a local model

  composer compose --chain summarize,translate:fr [--method auto|zero-shot|main-lora|aux-lora|linear-merge|multi-step|joint-expert|lc|lc++]
                   [--file in.txt | --text "..." | stdin] [--max-tokens N] [--json] [--stream]
  composer chains [chain] [--one-pass] [--json]   how each chain runs with what is installed
  composer adapters list | install <dir|manifest.json> [--replace] | remove <id> | verify [id]
  composer calibrations list | verify
  composer models list | fetch [default|<catalog id>|hf:...|https://...]

Common options: --model default|<catalog id, see models list>|<path.gguf>|<hf: or https URI>
                --threads N  --context-size N
Environment: COMPOSER_HOME (cache root, default ~/.cache/composer-lc), COMPOSER_MODEL.`;

export class UsageError extends Error {
    override name = "UsageError";
}

async function readInput(values: {file?: string; text?: string}): Promise<string> {
    if (values.text !== undefined) return values.text;
    if (values.file !== undefined) return readFile(values.file, "utf8");
    if (process.stdin.isTTY) throw new UsageError("Give the text with --file, --text, or on standard input.");
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
}

function positiveInt(
    text: string | undefined,
    name: string,
    max = Number.MAX_SAFE_INTEGER,
    min = 1,
): number | undefined {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max)
        throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text.slice(0, 20)}".`);
    return value;
}

async function compose(args: string[]): Promise<void> {
    const {values} = parseArgs({
        args,
        options: {
            chain: {type: "string"},
            method: {type: "string", default: "auto"},
            file: {type: "string"},
            text: {type: "string"},
            json: {type: "boolean", default: false},
            stream: {type: "boolean"},
            "max-tokens": {type: "string"},
            model: {type: "string"},
            threads: {type: "string"},
            "context-size": {type: "string"},
        },
    });
    if (values.chain === undefined) throw new UsageError("compose needs --chain, e.g. --chain summarize,translate:fr");
    const chain = parseTaskChain(values.chain);
    const method = parseMethodChoice(values.method);
    const input = await readInput(values);
    const paths = cachePaths();
    // A derived catalog file is made here on first use, from the download already on disk.
    const modelPath = await locateOrDeriveBaseModel(parseBaseModelSetting(values.model ?? process.env.COMPOSER_MODEL), {
        modelsDir: paths.models,
        onProgress: writeFetchProgress,
    });
    const root = packageRoot(import.meta.url);
    const client = new EngineClient({
        hostScript: hostScriptPath(root),
        config: engineConfig(modelPath, installedPack(root, paths), {
            threads: positiveInt(values.threads, "threads"),
            contextSize: positiveInt(values["context-size"], "context-size", 32768, 256),
        }),
        onLog: (level, message) => {
            if (level === "error") process.stderr.write(`[engine] ${message}\n`);
        },
    });
    // Ctrl-C cancels: the request ends at once, and the engine is asked to exit (killed after
    // 3 s if it does not, e.g. when it hangs). A second Ctrl-C kills it and exits now. The
    // engine never outlives this process.
    const controller = new AbortController();
    const interrupted = () => {
        if (!controller.signal.aborted) return controller.abort();
        client.kill("SIGKILL");
        process.exit(130);
    };
    const killEngine = () => client.kill("SIGKILL");
    process.on("SIGINT", interrupted);
    process.on("exit", killEngine);
    // A terminal (or --stream) sees the answer as it is written. A part written again afterwards
    // (a long text's part summarized in halves, a one-pass answer redone in steps, an answer in
    // the wrong language translated again) replaces what was shown, so the final text follows
    // when it differs. Otherwise (a pipe, a file) stdout gets the final text alone.
    const live = !values.json && (values.stream ?? process.stdout.isTTY === true);
    let shown = "";
    try {
        const maxTokens = positiveInt(values["max-tokens"], "max-tokens", 4096);
        const result = await client.compose({
            chain,
            method,
            input,
            signal: controller.signal,
            ...(maxTokens === undefined ? {} : {maxTokens}),
            // Only the answer streams (a multi-step run's last pass); progress goes to stderr.
            onText: live
                ? (text) => {
                      shown += text;
                      process.stdout.write(text);
                  }
                : undefined,
            onStep: values.json ? undefined : (done, total) => process.stderr.write(`(${done}/${total} parts done)\n`),
        });
        if (values.json) {
            process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
            return;
        }
        if (!live) process.stdout.write(result.text);
        else if (shown.trim() !== result.text.trim()) {
            process.stdout.write("\n");
            process.stderr.write("note: part of the text above was written again; the answer is:\n");
            process.stdout.write(result.text);
        }
        process.stdout.write("\n");
        const tokens = result.passes.reduce((sum, pass) => sum + pass.generation.generatedTokens, 0);
        const generations = result.passes.length;
        const summary = `${result.method}, ${generations} generation${generations === 1 ? "" : "s"}, ${tokens} tokens, ${(result.totalMs / 1000).toFixed(2)} s`;
        for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
        process.stderr.write(`(${summary})\n`);
    } catch (error) {
        if (shown.length === 0) throw error;
        // Part of an answer is already on stdout: end its line and say it is incomplete.
        process.stdout.write("\n");
        throw new Error(`${(error as Error).message} (the text printed above is incomplete)`);
    } finally {
        await client.dispose();
        process.off("SIGINT", interrupted);
        process.off("exit", killEngine);
    }
}

function writeFetchProgress(p: ModelFetchProgress): void {
    process.stderr.write(
        p.unit === "bytes"
            ? `\rdownloaded ${(p.done / 1e6).toFixed(1)} / ${(p.total / 1e6).toFixed(1)} MB`
            : `${p.step} ${p.done}/${p.total}\n`,
    );
}

async function models(args: string[]): Promise<void> {
    const [action, target] = args;
    const paths = cachePaths();
    if (action === "list") {
        for (const model of KNOWN_MODELS) {
            const files = [
                {id: model.id, title: model.title, facts: model.facts},
                ...model.derived.map((variant) => ({
                    id: variant.id,
                    title: variant.title,
                    facts: `made from ${model.id} on this machine when chosen (docs/base-model.md)`,
                })),
            ];
            for (const file of files) {
                const isDefault = model === DEFAULT_MODEL && file.id === model.id;
                const path = await locateBaseModel({kind: "known", id: file.id}, paths.models).catch(() => null);
                process.stdout.write(`${file.id}${isDefault ? " (default)" : ""}: ${file.title}\n`);
                process.stdout.write(`  ${path ?? "not downloaded or made yet"}\n  ${file.facts}\n`);
            }
        }
        return;
    }
    if (action === "fetch") {
        const setting = parseBaseModelSetting(target);
        const path = await fetchBaseModel(setting, {modelsDir: paths.models, onProgress: writeFetchProgress});
        process.stdout.write(`${path}\n`);
        return;
    }
    throw new UsageError(`Unknown models action "${action ?? ""}".`);
}

export async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    try {
        switch (command) {
            case "compose":
                await compose(rest);
                return 0;
            case "models":
                await models(rest);
                return 0;
            case "chains":
                return await chainsCommand(rest);
            case "adapters":
            case "calibrations":
                return await runArtifactCommand(command, rest);
            case undefined:
            case "help":
            case "--help":
                process.stdout.write(`${USAGE}\n`);
                return command === undefined ? 2 : 0;
            default:
                throw new UsageError(`Unknown command "${command}".`);
        }
    } catch (error) {
        const err = error as Error;
        // Capped and escaped: a message can quote a file's content (a corrupt name, binary).
        process.stderr.write(`error: ${messageForUser(err.message)}\n`);
        if (err instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
        return 1;
    }
}

// A reader that stops early (`composer chains | head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(0);
});

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
