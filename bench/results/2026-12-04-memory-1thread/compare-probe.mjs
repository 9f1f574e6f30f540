// The memory scenario of bench/memory.ts through a raw engine-host process of any build, with or
// without the allocator settings: the before/after table of report.md. From the repository root:
//   node bench/results/2026-12-04-memory-1thread/compare-probe.mjs <engine-host.js> <config JSON> <0|1: GLIBC_TUNABLES>
// e.g. main before this branch: <main>/dist/engine-host.js '{"contextSize":8192,"maxContexts":4}' 0
//      this branch:            dist/engine-host.js '{"contextSize":8192,"batchSize":128,"contextMemoryBytes":268435456}' 1
import {fork} from "node:child_process";
import {readFileSync, mkdtempSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
const [host, configJson, tun] = process.argv.slice(2);
const env = {...process.env};
delete env.GLIBC_TUNABLES;
if (tun === "1") env.GLIBC_TUNABLES = "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072";
const home = mkdtempSync(join(tmpdir(), "cmp-"));
const root = process.cwd();
const config = {
  modelPath: `${process.env.HOME}/.cache/composer-lc/models/gemma-3-270m-q4_k_m.gguf`,
  adapterDirs: [join(root, "adapters")], userAdapterDir: join(home, "ua"), calibrationDirs: [join(root, "calibrations"), join(home, "cal")],
  cacheDir: join(home, "expanded"), threads: 1, flashAttention: false, ...JSON.parse(configJson)};
const child = fork(host, [], {env, stdio: ["ignore", "ignore", "inherit", "ipc"], serialization: "json"});
let next = 1; const pending = new Map();
child.on("message", (m) => { if (m.id && (m.kind === "done" || m.kind === "failed")) { const p = pending.get(m.id); pending.delete(m.id); m.kind === "done" ? p.resolve(m.value) : p.reject(new Error(JSON.stringify(m.error).slice(0, 300))); } });
const call = (kind, fields) => new Promise((resolve, reject) => { const id = next++; pending.set(id, {resolve, reject}); child.send({id, kind, ...fields}); });
const mem = () => { const s = readFileSync(`/proc/${child.pid}/status`, "utf8"); const g = (k) => (Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)[1]) * 1024 / 1e6); return {rss: g("VmRSS"), hwm: g("VmHWM")}; };
const inputs = readFileSync(join(process.env.LAB_DATA_DIR ?? join(root, "..", "shared", "data"), "dialogsum", "dialogsum.dev.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).dialogue.trim()).sort((a, b) => a.length - b.length).slice(0, 2);
const compose = (chain, i) => call("compose", {chain, method: "auto", input: inputs[i % 2], maxTokens: 16});
await call("open", {config});
const base = mem().rss;
const warm = ["summarize+translate:fr", "reply+tone:casual", "summarize+tone:professional", "reply+translate:de"];
for (const [i, c] of warm.entries()) await compose(c, i);
let cold = 0; for (const [i, c] of warm.entries()) { const r = await compose(c, i); cold += r.passes.filter((p) => p.coldContext).length; }
const warmRss = mem().rss;
const chains = [...warm, "summarize+translate:es", "reply+tone:witty", "tone:casual+translate:fr", "summarize"];
const res = await Promise.allSettled(Array.from({length: 20}, (_, n) => compose(chains[n % 8], n)));
const m = mem();
const {writeFileSync} = await import("node:fs");
writeFileSync(`/proc/${child.pid}/clear_refs`, "5");
const res2 = await Promise.allSettled(Array.from({length: 20}, (_, n) => compose(chains[n % 8], n + 1)));
const m2 = mem();
console.log(JSON.stringify({secondRoundPeakMb: m2.hwm.toFixed(1), secondRss: m2.rss.toFixed(1), failed2: res2.filter((r) => r.status === "rejected").length}));
console.log(JSON.stringify({config: configJson, tunables: tun, baseMb: base.toFixed(1), warmMb: warmRss.toFixed(1), coldOnSecondRound: cold, concurrentPeakMb: m.hwm.toFixed(1), failed: res.filter((r) => r.status === "rejected").length}));
child.disconnect(); rmSync(home, {recursive: true, force: true});
