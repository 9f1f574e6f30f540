// RSS of N contexts of the default model, each filled to `fill` tokens, in a fresh process: the
// measurements engine/runtime/contextMemory.ts is fitted to. Run with the engine's allocator settings:
//   GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072 \
//   node --expose-gc bench/results/2026-12-04-memory-1thread/fill-probe.mjs <context> <batch> <N> <fill> <flash 0|1>
// e.g. 2048 128 3 1900 0 and 8192 128 2 7900 0. The first context reuses freed memory: read the later ones.
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
const [ctxS, batchS, nS, fillS, faS] = process.argv.slice(2).map(Number);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;
const llama = await getLlama({gpu: false, build: "never", maxThreads: 1, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: `${process.env.HOME}/.cache/composer-lc/models/gemma-3-270m-q4_k_m.gguf`});
const words = Array.from({length: fillS * 2}, (_, i) => ["meeting", "budget", "Thursday", "numbers", "flight", "the", "of", "report", "and", "we"][(i * 7) % 10]).join(" ");
const toks = model.tokenize(words).slice(0, fillS);
const opts = {contextSize: ctxS, batchSize: batchS, threads: 1, flashAttention: faS === 1};
{ // warm-up: allocator and JS paths
  const c = await model.createContext({...opts, contextSize: 1024}); const s = c.getSequence(); let n = 0;
  for await (const t of s.evaluate(toks.slice(0, 200), {temperature: 0})) if (++n >= 4) break;
  await c.dispose();
}
global.gc?.();
const r0 = rss();
const deltas = [];
const keep = [];
for (let i = 0; i < nS; i++) {
  const before = rss();
  const c = await model.createContext(opts); const s = c.getSequence(); let n = 0;
  const created = rss() - before;
  for await (const t of s.evaluate(toks, {temperature: 0})) if (++n >= 8) break;
  deltas.push(`${created.toFixed(1)}->${(rss() - before).toFixed(1)}`); keep.push(c);
}
console.log(`ctx ${ctxS} batch ${batchS} fa ${faS} fill ${toks.length}: per-context created->filled ${deltas.join(" ")}; mean ${((rss() - r0) / nS).toFixed(1)} MB; hwm ${hwm().toFixed(0)}`);
