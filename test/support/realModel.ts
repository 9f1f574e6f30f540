// The real default model for integration tests. The setup step fetches it; a missing model is
// a failed test, not a skipped one, so CI cannot pass without exercising it.

import {existsSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";
import {cachePaths} from "../../engine/model/paths";
import {locateBaseModel, parseBaseModelSetting} from "../../engine/model/setting";

export async function realModelPath(): Promise<string> {
    return locateBaseModel(parseBaseModelSetting(process.env.COMPOSER_MODEL), cachePaths().models);
}

/** The repository root: the nearest folder above this (bundled) file that holds package.json. */
export function repoRoot(): string {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, "package.json"))) {
        const parent = dirname(dir);
        if (parent === dir) throw new Error("No package.json above the test files.");
        dir = parent;
    }
    return dir;
}
