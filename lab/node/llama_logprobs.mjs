// Next-token distributions from node-llama-cpp for the lab's parity check.
// Run from the repository root (so node_modules resolves):
//   node lab/node/llama_logprobs.mjs request.json
// request.json: {"modelPath", "outPath", "nVocab", "threads"?, "contextSize"?,
//                "adapters"?: [{"filePath", "scale"}],
//                "prompts": [{"text", "ids": [...], "positions": [i, ...]}]}
// Writes to outPath a little-endian float32 array [sum(positions)][n_vocab] of log-probabilities
// (natural log) and prints a JSON summary line {nVocab, prompts: [{llamaIds}]} on stdout.
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const req = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const threads = req.threads ?? 2;
const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: req.modelPath});
const nVocab = req.nVocab;
const out = fs.openSync(req.outPath, "w");
const summary = {nVocab, prompts: []};
for (const prompt of req.prompts) {
    const context = await model.createContext({
        contextSize: req.contextSize ?? 512,
        flashAttention: false,
        threads,
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
        ...(req.adapters ? {lora: {adapters: req.adapters}} : {}),
    });
    const sequence = context.getSequence();
    const wanted = new Set(prompt.positions);
    const items = prompt.ids.map((t, i) => (wanted.has(i) ? [t, {generateNext: {probabilities: true}}] : t));
    const results = await sequence.controlledEvaluate(items);
    for (const i of prompt.positions) {
        const probs = results[i]?.next?.probabilities;
        if (!probs) throw new Error(`no probabilities at position ${i}`);
        if (probs.size > nVocab) throw new Error(`vocabulary ${probs.size} > nVocab ${nVocab}`);
        const row = new Float32Array(nVocab).fill(-Infinity);
        for (const [token, p] of probs) row[token] = Math.log(p);
        fs.writeSync(out, Buffer.from(row.buffer));
    }
    const llamaIds = model.tokenize(prompt.text, true);
    summary.prompts.push({llamaIds: Array.from(llamaIds)});
    await context.dispose();
}
fs.closeSync(out);
await model.dispose();
console.log(JSON.stringify(summary));
