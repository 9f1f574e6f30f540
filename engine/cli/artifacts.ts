// `composer adapters ...` and `composer calibrations ...`: file management that needs the
// base model's structure (read from its header) but no running model.

import {basename} from "node:path";
import {parseArgs} from "node:util";
import {AdapterStore} from "../adapters/store";
import {CalibrationStore} from "../calibrations/store";
import {installedPack, packageRoot} from "../config";
import {readGgufHeader} from "../gguf";
import {quote} from "../messages/quote";
import {type BaseModelStructure, describeBaseModel} from "../model/fingerprint";
import {cachePaths} from "../model/paths";
import {locateBaseModel, parseBaseModelSetting} from "../model/setting";

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function baseModel(modelOption: string | undefined): Promise<BaseModelStructure> {
    const path = await locateBaseModel(
        parseBaseModelSetting(modelOption ?? process.env.COMPOSER_MODEL),
        cachePaths().models,
    );
    return describeBaseModel(await readGgufHeader(path));
}

export function stores(): {adapters: AdapterStore; calibrations: CalibrationStore} {
    const config = installedPack(packageRoot(import.meta.url));
    return {
        adapters: new AdapterStore({bundledDirs: config.adapterDirs, writableDir: config.userAdapterDir}),
        calibrations: new CalibrationStore(config.calibrationDirs),
    };
}

async function adaptersCommand(args: string[]): Promise<number> {
    const {values, positionals} = parseArgs({
        args,
        allowPositionals: true,
        options: {
            model: {type: "string"},
            replace: {type: "boolean", default: false},
            json: {type: "boolean", default: false},
        },
    });
    const [action, target] = positionals;
    const {adapters} = stores();
    const base = await baseModel(values.model);
    switch (action) {
        case "list": {
            const entries = await adapters.list(base);
            if (values.json) {
                out(
                    JSON.stringify(
                        entries.map((e) =>
                            e.status === "valid"
                                ? {
                                      id: e.id,
                                      status: e.status,
                                      task: e.adapter.manifest.chainKey,
                                      dir: e.dir,
                                      bundled: e.bundled,
                                      keptForCalibrations: e.adapter.manifest.keptForCalibrations,
                                      sha256: e.adapter.sha256,
                                  }
                                : {id: e.id, status: e.status, dir: e.dir, bundled: e.bundled, error: e.error.message},
                        ),
                        null,
                        2,
                    ),
                );
                return 0;
            }
            if (entries.length === 0) out("No adapters installed.");
            for (const entry of entries) {
                const where = entry.bundled ? "bundled" : "user";
                if (entry.status === "valid") {
                    const {manifest} = entry.adapter;
                    const kept = manifest.keptForCalibrations ? ", kept for calibrations" : "";
                    out(`${entry.id}  ${manifest.chainKey}  rank ${manifest.rank}  (${where}${kept})`);
                } else out(`${entry.id}  INVALID (${where}): ${entry.error.message}`);
            }
            return entries.some((e) => e.status === "invalid") ? 1 : 0;
        }
        case "install": {
            if (target === undefined) throw new Error("adapters install needs a directory or a manifest.json path.");
            const installed = await adapters.install(target, base, {replace: values.replace});
            out(`Installed ${installed.manifest.id} (${installed.manifest.chainKey}) into ${installed.dir}`);
            return 0;
        }
        case "remove":
            if (target === undefined) throw new Error("adapters remove needs an adapter id.");
            await adapters.remove(target);
            out(`Removed ${target}.`);
            return 0;
        case "verify": {
            const entries = await adapters.list(base);
            const chosen = target === undefined ? entries : entries.filter((e) => e.id === target);
            if (target !== undefined && chosen.length === 0) throw new Error(`No adapter with id ${quote(target)}.`);
            let failed = 0;
            for (const entry of chosen) {
                if (entry.status === "valid") out(`ok       ${entry.id}`);
                else {
                    failed++;
                    out(`INVALID  ${entry.id}: ${entry.error.message}`);
                }
            }
            return failed > 0 ? 1 : 0;
        }
        default:
            throw new Error(`Unknown adapters action "${action ?? ""}" (list, install, remove, verify).`);
    }
}

async function calibrationsCommand(args: string[]): Promise<number> {
    const {values, positionals} = parseArgs({args, allowPositionals: true, options: {model: {type: "string"}}});
    const [action] = positionals;
    const {adapters, calibrations} = stores();
    const base = await baseModel(values.model);
    const entries = await calibrations.list(base);
    if (action !== "list" && action !== "verify")
        throw new Error(`Unknown calibrations action "${action ?? ""}" (list, verify).`);
    if (entries.length === 0)
        out(`No calibrations for this base model (fingerprint ${base.fingerprint.slice(0, 12)}).`);
    const installed = (await adapters.list(base)).flatMap((e) =>
        e.status === "valid" ? [{id: e.id, sha256: e.adapter.sha256, ggufPath: e.adapter.ggufPath}] : [],
    );
    let failed = 0;
    for (const entry of entries) {
        if (entry.status === "invalid") {
            failed++;
            out(`INVALID  ${entry.path}: ${entry.reason}`);
            continue;
        }
        const s = entry.summary;
        const line = `${basename(s.path)}  ${s.chainKey}  ${s.kind}  ${s.parameterCount} params  ${(s.bytes / 1024).toFixed(1)} KiB  adapters ${s.adapters.map((a) => a.id).join(" + ")}`;
        if (action === "list") out(line);
        else {
            const verdict = await calibrations.verify(entry.path, installed, base);
            if (verdict.ok) out(`ok       ${line}`);
            else {
                failed++;
                out(`INVALID  ${line}: ${verdict.reason}`);
            }
        }
    }
    return failed > 0 ? 1 : 0;
}

export async function runArtifactCommand(command: "adapters" | "calibrations", args: string[]): Promise<number> {
    return command === "adapters" ? adaptersCommand(args) : calibrationsCommand(args);
}
