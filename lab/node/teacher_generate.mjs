// Teacher generation through the engine's runtime (node-llama-cpp), greedy, resumable.
// Run from the repository root (so node_modules resolves), normally via `python -m lab.teacher generate`:
//   node lab/node/teacher_generate.mjs request.json
// request.json: {"modelPath", "outPath", "logPath", "systemPrompt", "userPrompt" (with {text}),
//                "jobs": [{"id", "text"}], "temperature", "maxTokens", "contextSize", "threads",
//                "parallel" (sequences decoded together in one batch; greedy output does not depend on it
//                up to float rounding)}
// Appends {"id", "target"} lines to outPath; ids already there are skipped (resume by rerunning).
// The chat template is the model's own (node-llama-cpp resolves it from the GGUF metadata).
import fs from "node:fs";
import {getLlama, LlamaChatSession, LlamaLogLevel} from "node-llama-cpp";

const req = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const done = new Set();
if (fs.existsSync(req.outPath))
    for (const line of fs.readFileSync(req.outPath, "utf8").split("\n"))
        if (line.trim()) done.add(JSON.parse(line).id);
const todo = req.jobs.filter((j) => !done.has(j.id));
const log = (msg) => fs.appendFileSync(req.logPath, `${new Date().toISOString()} ${msg}\n`);
log(`start: ${req.jobs.length} jobs, ${done.size} done, ${todo.length} to do`);
if (todo.length === 0) process.exit(0);

const threads = req.threads ?? 2;
const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: req.modelPath});
const parallel = Math.max(1, Math.min(req.parallel ?? 1, todo.length));
const context = await model.createContext({
    contextSize: (req.contextSize ?? 1024) * parallel,
    sequences: parallel,
    threads,
});
const sessions = Array.from(
    {length: parallel},
    () => new LlamaChatSession({contextSequence: context.getSequence(), systemPrompt: req.systemPrompt}),
);
const initial = sessions[0].getChatHistory();
log(`chat wrapper: ${sessions[0].chatWrapper.wrapperName}, ${parallel} parallel sequences, ${threads} threads`);

/** Strips whitespace, a wrapping code fence or a wrapping pair of quotes. */
function clean(text) {
    let t = text.trim();
    const fence = t.match(/^```[a-zA-Z]*\n([\s\S]*?)\n?```$/);
    if (fence) t = fence[1].trim();
    if (t.length > 1 && /^["“«]/.test(t) && /["”»]$/.test(t)) t = t.slice(1, -1).trim();
    return t;
}

const t0 = Date.now();
let tokens = 0;
let finished = 0;
let next = 0;
async function worker(session) {
    while (next < todo.length) {
        const job = todo[next++];
        session.setChatHistory(initial);
        const started = Date.now();
        // A replacer function: a "$&" or "$'" in the text is text, not a replacement pattern.
        const raw = await session.prompt(req.userPrompt.replace("{text}", () => job.text), {
            temperature: req.temperature ?? 0,
            maxTokens: req.maxTokens ?? 160,
        });
        const target = clean(raw);
        tokens += model.tokenize(raw).length;
        fs.appendFileSync(req.outPath, `${JSON.stringify({id: job.id, target})}\n`);
        finished += 1;
        const el = (Date.now() - t0) / 1000;
        log(
            `${done.size + finished}/${req.jobs.length} ${job.id} ${((Date.now() - started) / 1000).toFixed(1)}s ` +
                `(${(tokens / el).toFixed(1)} gen tok/s avg, eta ${(((todo.length - finished) * el) / finished / 60).toFixed(1)} min)`,
        );
    }
}
await Promise.all(sessions.map(worker));
log("done");
await context.dispose();
await model.dispose();
