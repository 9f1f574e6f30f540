// The engine's own check of a tone rewrite (engine/compose/facts.ts, lostFact) for the lab's filter
// of training pairs (lab/lab/data/sources.py, `engine_lost_facts`): a pair whose rewrite the engine
// would give back as written is no pair to learn from. One check, so the two cannot drift apart.
// The engine's TypeScript is bundled in memory by esbuild (node_modules, no build needed).
// Usage (from anywhere): node lab/node/lost_facts.mjs < pairs.json
//   stdin: [[source, rewrite], ...]; stdout: [reason or null, ...], in the same order.
import {readFileSync} from "node:fs";
import {dirname} from "node:path";
import {fileURLToPath} from "node:url";
import {build} from "esbuild";

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

const bundle = await build({
    stdin: {
        contents: 'export {lostFact} from "./engine/compose/facts";',
        resolveDir: root,
        sourcefile: "lost-facts-entry.ts",
        loader: "ts",
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    packages: "external",
    logLevel: "error",
});
const code = bundle.outputFiles[0].text;
const {lostFact} = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);

const pairs = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(`${JSON.stringify(pairs.map(([source, rewrite]) => lostFact(source, rewrite)))}\n`);
