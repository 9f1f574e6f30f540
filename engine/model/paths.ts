// Where the engine keeps files that are not part of the repository: downloaded models,
// user-installed adapters, expanded calibrations. One root, overridable for tests and CI.

import {homedir} from "node:os";
import {join} from "node:path";

export interface CachePaths {
    readonly root: string;
    readonly models: string;
    readonly userAdapters: string;
    readonly expanded: string;
}

export function cachePaths(root = process.env.COMPOSER_HOME ?? join(homedir(), ".cache", "composer-lc")): CachePaths {
    return {
        root,
        models: join(root, "models"),
        userAdapters: join(root, "adapters"),
        expanded: join(root, "expanded"),
    };
}
