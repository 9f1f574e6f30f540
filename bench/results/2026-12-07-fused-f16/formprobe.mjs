// Greedy text of composites in the fused form and the separate form, on paper and real inputs.
// Usage (from the repository root): node bench/results/2026-12-07-fused-f16/formprobe.mjs OUT.jsonl N
import {appendFileSync, existsSync, readFileSync} from "node:fs";
import {homedir} from "node:os";
import {join} from "node:path";
const root = process.cwd();
const {build} = await import(join(root, "node_modules/esbuild/lib/main.js"));
const bundled = join(root, "dist", "formprobe-engine.mjs"); // dist/ is ignored by git
await build({stdin: {contents: 'export {Engine} from "./engine/engine"; export {engineConfig, packIn} from "./engine/config"; export {parseTaskChain} from "./engine/compose/taskChain";', resolveDir: root, loader: "ts"},
    bundle: true, outfile: bundled, format: "esm", platform: "node", packages: "external", logLevel: "error"});
const {Engine, engineConfig, packIn, parseTaskChain} = await import(bundled);
const [out, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 10);
const dialogues = readFileSync(join(root, "..", "shared", "data", "dialogsum", "dialogsum.dev.jsonl"), "utf8").trim().split("\n")
    .slice(0, n).map((l) => ({id: JSON.parse(l).fname, text: JSON.parse(l).dialogue}));
const emails = readFileSync(join(root, "..", "shared", "data", "real-emails", "emails.jsonl"), "utf8").trim().split("\n")
    .slice(0, n).map((l) => ({id: JSON.parse(l).id, text: JSON.parse(l).text}));
const done = new Set(existsSync(out) ? readFileSync(out, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l).key) : []);
const work = `/tmp/formprobe-${process.pid}`;
const pack = packIn(work, {adapterDirs: [join(root, "adapters")], calibrationDirs: [join(root, "calibrations")]});
const engine = await Engine.open(engineConfig(join(homedir(), ".cache/composer-lc/models/gemma-3-270m-q4_k_m.gguf"), pack, {threads: 1}));
const cases = [
    {chain: "summarize+translate:fr", method: "lc++"},
    {chain: "reply+tone:casual", method: "lc++"},
    {chain: "summarize+tone:professional", method: "linear-merge"},
];
let k = 0;
for (const input of [...dialogues, ...emails])
    for (const c of cases)
        for (const form of ["separate", "fused"]) {
            const key = `${input.id}|${c.chain}|${c.method}|${form}`;
            k++;
            if (done.has(key)) continue;
            const r = await engine.compose({chain: parseTaskChain(c.chain), method: c.method, input: input.text, maxTokens: 128}, {loraForm: form});
            appendFileSync(out, JSON.stringify({key, input: input.id, chain: c.chain, method: c.method, form, text: r.text}) + "\n");
            process.stderr.write(`[probe ${k}/${2 * n * cases.length * 2}] ${key}\n`);
        }
await engine.dispose();
