// The engine's TypeScript as a module the lab's node scripts can call, bundled in memory by esbuild
// (node_modules, no build needed), so what the lab checks is what the engine runs.
// Usage: const {lostFact} = await engineModule('export {lostFact} from "./engine/compose/facts";', "name");
import {dirname} from "node:path";
import {fileURLToPath} from "node:url";
import {build} from "esbuild";

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** `source`: TypeScript with imports relative to the repository's root; `name`: for error messages. */
export async function engineModule(source, name) {
    const bundle = await build({
        stdin: {contents: source, resolveDir: root, sourcefile: `${name}-entry.ts`, loader: "ts"},
        bundle: true,
        write: false,
        format: "esm",
        platform: "node",
        packages: "external",
        logLevel: "error",
    });
    const code = bundle.outputFiles[0].text;
    return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}
