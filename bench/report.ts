// Writes a dated report: report.md (tables), results.json (every number and the exact
// configuration) and PNG charts (lab/lab/eval/charts.py, matplotlib).

import {mkdir, writeFile} from "node:fs/promises";
import {join} from "node:path";
import type {Efficiency} from "./efficiency";
import {type FormalityResults, matchedAccuracy} from "./formality";
import type {MemoryResults} from "./memory";
import type {NewsResults} from "./news";
import type {PairedDifference} from "./pairedDifference";
import type {PeerResults} from "./peer";
import {runPythonJson} from "./python";
import type {RealTextResults} from "./realText";
import {realTextSection} from "./realTextReport";
import type {RealWorkResults} from "./realWork";
import type {AgainstBaseline, QualityScores} from "./scoring";
import type {AfterStart, SpeedResults} from "./speed";
import type {StartupResults} from "./startup";
import type {Summary} from "./stats";
import {GROUPS} from "./variants";

export interface ExampleRow {
    readonly variant: string;
    readonly id: string;
    readonly input: string;
    readonly reference: string | null;
    readonly outputs: Record<string, string>;
}

export interface BenchResults {
    readonly date: string;
    readonly startedAt: string;
    readonly wallSeconds: number;
    readonly command: string;
    readonly quick: boolean;
    readonly config: Record<string, unknown>;
    readonly quality:
        | (QualityScores & {
              examples: ExampleRow[];
              referencesStatus: Record<string, unknown>;
              generations: number;
              /** Sum of the generations' recorded times: the quality phase from an empty cache. */
              generationSeconds: number;
              /** This run minus `--baseline`'s, per variant and method, on the same inputs. */
              againstBaseline: AgainstBaseline | null;
          })
        | null;
    readonly formality: FormalityResults | null;
    readonly news: NewsResults | null;
    /** The real-text section (bench/realText.ts); null with --no-real-text. */
    readonly realText: RealTextResults | null;
    readonly efficiency: Efficiency;
    readonly speed: SpeedResults | null;
    /** The memory section (bench/memory.ts); null with --no-memory. */
    readonly memory: MemoryResults | null;
    /** From start to the first token (bench/startup.ts), run with the memory section; absent in older runs. */
    readonly startup?: StartupResults | null;
    readonly peer: PeerResults | null;
    /** The real work timed (bench/realWork.ts); null with --no-work. */
    readonly work: RealWorkResults | null;
    readonly notes: readonly string[];
}

const f1 = (x: number | null | undefined) =>
    x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(1);
const f2 = (x: number | null | undefined) =>
    x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(2);
const int = (x: number) => x.toLocaleString("en-US");
const mb = (bytes: number) => (bytes / 1e6 >= 1 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} KB`);
const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;
const spread = (s: Summary) => `${f2(s.median)} (IQR ${f2(s.p25)}–${f2(s.p75)}, n ${s.n})`;
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ⏎ ");
const clip = (text: string, max = 220) => (text.length > max ? `${text.slice(0, max)}…` : text);

function qualitySection(results: BenchResults): string[] {
    const q = results.quality;
    const lines = ["## Quality (Table 1 layout)", ""];
    if (q === null) return [...lines, "Not run in this report (--no-quality); see the notes above.", ""];
    const methods = [...new Set(Object.values(q.groups).flatMap((g) => Object.keys(g)))];
    lines.push(
        "Main metric vs composite references: ROUGE-L F1 (stemmer) for summaries, weighted ROUGE (R1/6 + R2/3 + R3/2) for replies, in %. " +
            "Language accuracy: share of outputs identified as the requested language (English for tones), in %: " +
            `Lingua ${q.versions["lingua-language-detector"]} checks es / fr / de and langid ${q.versions.langid} English (the better of the two on short human text in that language; lab/lab/eval/metrics.py), both restricted to {${q.langidCandidates.join(", ")}}. Group values are means of the per-variant means. ` +
            `${int(q.generations)} generations; from an empty cache they take ${minutes(q.generationSeconds)} (the sum of each generation's time, recorded when it ran).`,
        "",
    );
    // Tone accuracy only where the group has tones.
    const toned = (g: string) => g.endsWith("Tone");
    const head = ["method", ...GROUPS.flatMap((g) => [`${g} main`, `${g} lang`, ...(toned(g) ? [`${g} tone`] : [])])];
    lines.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
    for (const method of methods) {
        const row = GROUPS.flatMap((g) => {
            const c = q.groups[g]?.[method];
            const tone = toned(g) ? [c === undefined ? "n/a" : f1(c.tone_accuracy)] : [];
            if (c === undefined) return ["n/a", "n/a", ...tone];
            return [c.main === null ? "pending ref." : f1(c.main), f1(c.language_accuracy), ...tone];
        });
        lines.push(`| ${method} | ${row.join(" | ")} |`);
    }
    const cells = Object.values(q.variants).flatMap((m) => Object.values(m));
    if (cells.some((c) => c.mainN === 0))
        lines.push(
            "",
            "`pending ref.`: no composite references exist yet for these inputs (they need the lab's teacher targets, `lab/targets/<chain>.jsonl`); nothing is invented in their place.",
        );
    const tc = q.toneClassifier;
    lines.push(
        "",
        tc === null
            ? Object.keys(q.variants).some((variant) => variant.includes("+tone:"))
                ? "Tone accuracy: **not measured** (the tone classifier's teacher data is missing: `python -m lab.eval.tone teacher`)."
                : "Tone accuracy: no tone variant in this run."
            : `Tone accuracy: share of outputs the lab's tone classifier (lab/lab/eval/tone.py: ${tc.model}) labels with the requested tone (paraphrase: "neutral"), in %. The classifier's own accuracy on ${tc.test_texts} held-out texts (sentences it never saw; 4 classes, chance 25%): **${f1(tc.accuracy)}%** (trained on ${tc.train_texts} texts; ${tc.sentences} sentences in all). Confusion (true → predicted): ${Object.entries(
                  tc.confusion,
              )
                  .map(
                      ([label, row]) =>
                          `${label}: ${Object.entries(row)
                              .map(([p, n]) => `${p} ${n}`)
                              .join(", ")}`,
                  )
                  .join("; ")}.`,
        "",
        "### Per variant",
        "",
        "| variant | method | n | main | chrF (human ref.) | lang acc. | tone acc. | looping | mean tokens | mean latency (s) | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const [variant, byMethod] of Object.entries(q.variants))
        for (const [method, c] of Object.entries(byMethod))
            lines.push(
                `| ${variant} | ${method} | ${c.n} | ${c.mainN > 0 ? `${f1(c.main)} (${c.mainN})` : "pending ref."} | ${c.chrfN > 0 ? `${f1(c.chrf)} (${c.chrfN})` : "–"} | ${f1(c.language_accuracy)} | ${c.tone_accuracy === null ? "–" : f1(c.tone_accuracy)} | ${f1(c.looping)} | ${f1(c.meanGeneratedTokens)} | ${f2((c.meanLatencyMs ?? Number.NaN) / 1000)} | ${c.errors} |`,
            );
    lines.push(
        "",
        'Looping: share of outputs that end in one short piece of text repeated 6+ times over 24+ characters ("¡¡¡¡…", "me me me …"), the way greedy decoding without a repeat penalty fails (lab/lab/eval/metrics.py), in %.',
    );
    if (cells.some((c) => c.chrfN > 0))
        lines.push(
            "",
            "chrF is against XDailyDialog's human German translation of the next turn (reply+translate:de only).",
        );
    lines.push("", ...lcppAgainstSection(q.lcppAgainst));
    if (q.againstBaseline !== null) lines.push(...baselineSection(q.againstBaseline));
    lines.push("### Example outputs, side by side", "");
    for (const ex of q.examples) {
        lines.push(`**${ex.variant}**, \`${ex.id}\` — input: ${cell(clip(ex.input, 300))}`, "");
        if (ex.reference !== null) lines.push(`reference: ${cell(clip(ex.reference))}`, "");
        lines.push("| method | output |", "|---|---|");
        for (const [method, text] of Object.entries(ex.outputs))
            lines.push(`| ${method} | ${cell(clip(text)) || "(empty)"} |`);
        lines.push("");
    }
    return lines;
}

/** Each method of this run against the same method in an earlier run (e.g. another decoding), input by input. */
function baselineSection(against: AgainstBaseline): string[] {
    const lines = [
        `### Against ${against.file}, input by input`,
        "",
        ...differenceTable(
            against.byVariant,
            "This run minus the baseline run, same method and inputs, on the main metric, with a 95% paired bootstrap interval.",
        ),
    ];
    const without = against.byVariantWithoutPlaceholders;
    if (without !== null && without !== undefined && Object.keys(without).length > 0)
        lines.push(
            ...differenceTable(
                without,
                'The same with DialogSum\'s speaker placeholders ("#Persona1# invita a Bill") taken out of references and outputs wherever a reference has them (lab/lab/eval/metrics.py): a pack that names people, or says "a customer", is not marked down for it here.',
            ),
        );
    return lines;
}

function differenceTable(byVariant: Record<string, Record<string, PairedDifference>>, lead: string): string[] {
    const rows = Object.entries(byVariant);
    const methods = [...new Set(rows.flatMap(([, m]) => Object.keys(m)))];
    const verdicts = rows.flatMap(([, m]) => Object.values(m).map((d) => d.verdict));
    const count = (verdict: string) => verdicts.filter((v) => v === verdict).length;
    return [
        `${lead} Ahead on ${count("ahead")}, within noise on ${count("within noise")}, behind on ${count("behind")} of ${verdicts.length} variant x method cells.`,
        "",
        `| variant | ${methods.join(" | ")} |`,
        `|---|${methods.map(() => "---").join("|")}|`,
        ...rows.map(
            ([variant, m]) =>
                `| ${variant} | ${methods
                    .map((method) => {
                        const d = m[method];
                        return d === undefined
                            ? "–"
                            : `${d.mean >= 0 ? "+" : ""}${f1(d.mean)} [${f1(d.low)}, ${f1(d.high)}] ${d.verdict === "within noise" ? "within noise" : `**${d.verdict}**`}`;
                    })
                    .join(" | ")} |`,
        ),
        "",
    ];
}

/** Left out when no variant ran LC++ beside a baseline (e.g. `--methods lc,lc++`). */
function lcppAgainstSection(byVariant: Readonly<Record<string, Readonly<Record<string, PairedDifference>>>>): string[] {
    const rows = Object.entries(byVariant);
    if (rows.length === 0) return [];
    const baselines = [...new Set(rows.flatMap(([, b]) => Object.keys(b)))];
    const level = rows.flatMap(([, b]) => Object.values(b))[0]?.level ?? 0.95;
    const shown = (d: PairedDifference | undefined) =>
        d === undefined
            ? "–"
            : `${d.mean >= 0 ? "+" : ""}${f1(d.mean)} [${f1(d.low)}, ${f1(d.high)}] ${d.verdict === "within noise" ? "within noise" : `**${d.verdict}**`}`;
    return [
        "### LC++ against the merge and multi-step, input by input",
        "",
        `LC++ minus the baseline on the main metric, mean over the inputs both were scored on, with a ${Math.round(level * 100)}% paired bootstrap interval (inputs resampled with replacement, seeded; bench/pairedDifference.ts). **ahead** / **behind**: the whole interval is above / below 0.`,
        "",
        `| variant | ${baselines.map((b) => `vs ${b}`).join(" | ")} |`,
        `|---|${baselines.map(() => "---").join("|")}|`,
        ...rows.map(([variant, b]) => `| ${variant} | ${baselines.map((name) => shown(b[name])).join(" | ")} |`),
        "",
    ];
}

/** "es 10, fr 10, de 10": how many inputs each language had. */
function perLanguage(counts: Readonly<Record<string, number | undefined>>): string {
    return Object.entries(counts)
        .map(([lang, n]) => `${lang} ${n}`)
        .join(", ");
}

/** "aux-lora = linear-merge = multi-step": a run and the methods that made the same recipe. */
function methodNames(run: {method: string; sameAs: readonly string[]}): string {
    return [run.method, ...run.sameAs].join(" = ");
}

function formalitySection(f: FormalityResults | null): string[] {
    const lines = ["## Formality control (CoCoA-MT, human references)", ""];
    if (f === null) return [...lines, "Not run (--no-formality).", ""];
    const sizes = perLanguage(f.segments);
    lines.push(
        `"Translate to X, professional tone" (chain tone:professional+translate:X, asks for the formal register) and "Translate to X, casual tone" (tone:casual+translate:X, informal) on contrastive CoCoA-MT segments (${sizes}; held out from the translation adapters), with every method the engine offers for those chains; translate:X alone is what the user gets without asking. ` +
            "chrF (sacrebleu) against the human formal and the human informal translation, in %. Register: CoCoA-MT's annotated phrases (formal vs informal pronouns and verb forms) found in the output; matched accuracy = share with the requested register among the outputs that show one (lab/lab/eval/formality.py). Language: share identified as the target language (Lingua).",
        "",
        `${int(f.generations)} generations; from an empty cache they take ${minutes(f.generationSeconds)} (sum of the recorded times).`,
        "",
        "| lang | asks | chain | method | passes | n | chrF vs formal | chrF vs informal | formal / informal / neither / both | matched acc. | lang acc. |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const c of f.cells) {
        // Without a request, show how often the output lands on each side.
        const acc =
            c.wanted === null
                ? `(formal ${f1(matchedAccuracy(c.labels, "formal"))})`
                : `${f1(c.matchedAccuracy)} (${c.labels.formal + c.labels.informal})`;
        lines.push(
            `| ${c.language} | ${c.wanted ?? "–"} | ${c.chain} | ${methodNames(c)} | ${c.passes} | ${c.n} | ${f1(c.chrfFormal)} | ${f1(c.chrfInformal)} | ${c.labels.formal} / ${c.labels.informal} / ${c.labels.neutral} / ${c.labels.other} | ${acc} | ${f1(c.languageAccuracy)} |`,
        );
    }
    if (f.example !== null) {
        const e = f.example;
        lines.push(
            "",
            `Example \`${e.id}\` — input: ${cell(clip(e.input, 300))}`,
            "",
            `human formal: ${cell(clip(e.formal))}; human informal: ${cell(clip(e.informal))}`,
            "",
            "| chain, method | output |",
            "|---|---|",
            ...Object.entries(e.outputs).map(([what, text]) => `| ${what} | ${cell(clip(text)) || "(empty)"} |`),
        );
    }
    lines.push("");
    return lines;
}

function newsSection(news: NewsResults | null): string[] {
    const lines = ["## Translation adapters on human news translations (NTREX)", ""];
    if (news === null) return [...lines, "Not run (--no-formality).", ""];
    const sizes = perLanguage(news.sentences);
    lines.push(
        `translate:X alone, the auxiliary task under every translation composite, on NTREX sentences (${sizes}) of documents held out from the translation adapters: sentence chrF (sacrebleu) against the human translation and share identified as the target language (Lingua), in %. ${int(news.generations)} generations; from an empty cache ${minutes(news.generationSeconds)}.`,
        "",
        "| lang | method | n | chrF | lang acc. | errors |",
        "|---|---|---|---|---|---|",
        ...news.cells.map(
            (c) =>
                `| ${c.language} | ${methodNames(c)} | ${c.n} | ${f1(c.chrf)} | ${f1(c.languageAccuracy)} | ${c.errors} |`,
        ),
        "",
    );
    return lines;
}

function efficiencySection(e: Efficiency): string[] {
    const lines = [
        "## Efficiency (Table 2 layout)",
        "",
        `Extra parameters and bytes per composite task beyond the base and the shared single-task adapters; % of a joint-expert LoRA of ${int(e.jointExpertParams)} parameters (${e.jointExpertSource}).`,
        "",
        "| method | passes | extra params | extra bytes on disk | % of joint expert | source |",
        "|---|---|---|---|---|---|",
    ];
    for (const r of e.rows)
        lines.push(
            `| ${r.method} | ${r.passes} | ${int(r.extraParams)} | ${mb(r.extraBytes)} | ${r.percentOfJointExpert.toFixed(2)}% | ${cell(r.source)} |`,
        );
    lines.push(
        "",
        "Shared single-task adapters in the pack:",
        "",
        "| adapter | task | params | bytes |",
        "|---|---|---|---|",
    );
    for (const a of e.taskAdapters) lines.push(`| ${a.id} | ${a.chain} | ${int(a.params)} | ${mb(a.bytes)} |`);
    lines.push("");
    return lines;
}

/** The first use after start, in an engine that prepared in the background (bench/speed.ts firstUseAfterStart). */
function afterStartRows(after: AfterStart | undefined): string[] {
    if (after === undefined) return [];
    return [
        `| first use after start, prepared in the background (first request for each of 2 composites, method auto, every pass's context) | ${spread(after.firstUseMs)} |`,
        `| warm, the same 2 composites alternating in that engine | ${spread(after.warmMs)} |`,
    ];
}

function afterStartGoal(after: AfterStart | undefined): string[] {
    if (after === undefined) return [];
    return [
        "",
        `Goal for the first use after start: within ${after.goalMs} ms of a warm switch: ${after.meetsGoal ? "met" : "**not met**"} (${f1(after.overWarmMs)} ms over warm). The engine prepared first, between requests (engine/preparation.ts): ${after.preparation.steps} steps, ${f1(after.preparation.busyMs)} ms of work (node-llama-cpp's estimate of each context size, then each installed composite's fused LoRA, made in this fresh work folder).`,
    ];
}

function speedSection(s: SpeedResults | null): string[] {
    const lines = ["## Speed", ""];
    if (s === null) return [...lines, "Not run (--no-speed).", ""];
    lines.push(
        `${s.title}; greedy, max ${s.maxTokens} new tokens; pack: ${s.pack}. Speed depends only on shapes, so random weights of the real shapes measure it; their outputs (and so their lengths) are not meaningful text.`,
        "",
        "| ratio | goal | median of paired ratios (IQR) | ratio of medians | meets goal |",
        "|---|---|---|---|---|",
    );
    for (const r of s.ratios)
        lines.push(
            `| ${r.name} | ${r.goal} | ${f2(r.pairedMedian)} (${f2(r.pairedP25)}–${f2(r.pairedP75)}) | ${f2(r.ratioOfMedians)} | ${r.goal.startsWith("(") ? "–" : r.meets ? "yes" : "**no**"} |`,
        );
    lines.push(
        "",
        "| method | passes | latency ms | decode tok/s (last pass) | prompt tok/s (first pass) | generated tokens | first-use context ms |",
        "|---|---|---|---|---|---|---|",
    );
    for (const m of Object.values(s.methods))
        lines.push(
            `| ${m.method} | ${m.passes} | ${spread(m.latencyMs)} | ${spread(m.decodeTokPerS)} | ${spread(m.promptTokPerS)} | ${f1(m.generatedTokens.median)} | ${f1(m.firstUseContextMs)} |`,
        );
    lines.push(
        "",
        `Multi-LoRA passes run in the engine's fused form: the task adapters (and the calibration, expanded) concatenated into ONE LoRA (rank ${s.fusedVsSeparate.rank} for LC++) with the scales folded into B (engine/calibrations/fusedMix.ts; B_f in F16, so equal up to its rounding and float summation order, tested in test/unit/loraFuse.test.ts and test/exactness/). The "separate" rows load the same files as separate LoRAs, the form used before. Greedy text of LC++ identical in both forms on ${s.fusedVsSeparate.identical}/${s.fusedVsSeparate.compared} generations; common prefix (chars): ${s.fusedVsSeparate.commonPrefix.map((p) => `${p.chars}/${p.of}`).join(", ")}. First pair — separate: "${cell(clip(s.fusedVsSeparate.firstPair.separate, 120))}"; fused: "${cell(clip(s.fusedVsSeparate.firstPair.fused, 120))}".`,
        "",
        "### Switching composites (context acquisition, prompt evaluation excluded)",
        "",
        "| case | ms |",
        "|---|---|",
        `| warm pool (both composites' contexts kept) | ${spread(s.switching.warmMs)} |`,
        `| cold context (pool of 1: context created on every switch; adapters already loaded) | ${spread(s.switching.coldMs)} |`,
        `| first use of a composite, nothing prepared (its LoRA fused by the request, adapters loaded, context created) | ${f1(s.switching.firstUseMs)} |`,
        ...afterStartRows(s.switching.afterStart),
        "",
        `Goal for the warm switch: <= 50 ms: ${s.switching.warmMeetsGoal ? "met" : "**not met**"}. The warm figure includes the pool's deliberate 5 ms yield (runtime-facts.md: the previous context frees its threads in a setTimeout).`,
        ...afterStartGoal(s.switching.afterStart),
        "",
        "### Memory",
        "",
        `Peak RSS of the bench process with the base, ${s.memory.loraFiles} adapter/calibration files and ${s.memory.contexts} pooled contexts${s.memory.poolBudgetMb === undefined ? " (2048 tokens each)" : ` (each sized by its request; pool budget ${f1(s.memory.poolBudgetMb)} MiB so that every case stays warm, ${f1(s.memory.poolResidentMb)} MiB charged at the end)`}: **${f1(s.memory.peakRssMb)} MB** (RSS right after: ${f1(s.memory.rssAfterPoolMb)} MB). The engine's own bound at its defaults is measured in the memory section.`,
        "",
        `Noise: load average ${s.noise.loadAvgStart.map((x) => x.toFixed(2)).join("/")} at start, ${s.noise.loadAvgEnd.map((x) => x.toFixed(2)).join("/")} at end. ${s.noise.note} Speed phase: ${f1(s.wallSeconds)} s.`,
        "",
    );
    return lines;
}

function startupSection(s: StartupResults | null): string[] {
    if (s === null) return [];
    const sec = (ms: number | null) => (ms === null ? "–" : (ms / 1000).toFixed(2));
    return [
        "### From start to the first token",
        "",
        `The engine process started as the extension starts it when VS Code has started (EngineClient, default settings, the installed pack, ${s.threads} thread(s)), then ${s.chain} asked for on samples/email.txt (${s.inputWords} words). Three starts sharing one fresh cache folder (bench/startup.ts). Seconds from starting the process; VS Code's own start before the extension activates is not included.`,
        "",
        "| start | asks | ready (model open) | first token | request to first token | preparation work | ran as |",
        "|---|---|---|---|---|---|---|",
        ...s.runs.map(
            (r) =>
                `| ${r.start} | ${r.asks} | ${sec(r.readyMs)} | ${sec(r.firstTokenMs)} | ${sec(r.requestToFirstTokenMs)} | ${sec(r.preparationMs)} | ${r.method} |`,
        ),
        "",
    ];
}

export function memorySection(m: MemoryResults | null): string[] {
    const lines = ["## Memory", ""];
    if (m === null) return [...lines, "Not run (--no-memory).", ""];
    const yes = (meets: boolean) => (meets ? "yes" : "**no**");
    const mbOf = (bytes: number) => f1(bytes / 1e6);
    lines.push(
        `The engine process as the editor runs it (EngineClient; default settings: largest context ${m.engine.contextSize} tokens, batch ${m.engine.batchSize}, context memory ${f1(m.engine.contextMemoryMb)} MB, flash attention ${m.engine.flashAttention ? "on" : "off"}; glibc malloc: ${m.engine.mallocTunables}), the installed pack, ${m.engine.threads} thread(s), at most ${m.engine.maxTokens} new tokens per request. RSS and peak (VmHWM) of that process, in MB of 10^6 bytes.`,
        "",
        "| measure | MB | goal | meets goal |",
        "|---|---|---|---|",
        `| base + pack (model open, pack installed and checked${m.preparation === undefined ? "" : ", composites prepared"}) | ${f1(m.basePackMb)} | – | – |`,
        `| base + pack + 4 warm composites (${m.warm.composites.join(", ")}) | ${f1(m.warm.rssMb)} | <= ${m.goals.warmMb} | ${yes(m.warm.meetsGoal)} |`,
        `| peak under ${m.concurrent.requests} concurrent requests over ${m.concurrent.mixes} mixes${m.preparation === undefined ? " (3 new composites fused during the run)" : ""} | ${f1(m.concurrent.peakRssMb)} | <= ${m.goals.concurrentPeakMb} | ${yes(m.concurrent.meetsGoal)} |`,
        ...(m.concurrent.again === null
            ? []
            : [
                  `| the same again${m.preparation === undefined ? ", every composite already fused" : ""} | ${f1(m.concurrent.again.peakRssMb)} | (reference) | – |`,
              ]),
        ...(m.preparation === undefined
            ? []
            : [
                  "",
                  `Before base + pack was measured, the engine prepared in the background as it does after every start (engine/preparation.ts; a fresh cache, so a first start): ${m.preparation.steps} steps (${m.preparation.failed} failed), ${f1(m.preparation.busyMs / 1000)} s of work, ${f1(m.preparation.totalMs / 1000)} s in all.`,
              ]),
        "",
        `Four composites warm: ${m.warm.allWarm ? "all four found their context warm on the second round" : "**not all four stayed warm** (the budget holds fewer)"}. The context pool charged ${mbOf(m.warm.pool.residentBytes)} MB for them (${m.warm.pool.contexts.map((c) => `${c.contextSize} tokens: ${mbOf(c.bytes)} MB`).join("; ")}; ${m.warm.pool.loras.count} LoRA files, ${mbOf(m.warm.pool.loras.bytes)} MB) of its ${mbOf(m.warm.pool.budgetBytes)} MB budget; the process grew ${f1(m.warm.rssMb - m.basePackMb)} MB over base + pack.`,
        "",
        `Concurrent: ${m.concurrent.failed.length === 0 ? "every request finished" : `**${m.concurrent.failed.length} failed**: ${m.concurrent.failed.map(cell).join("; ")}`} in ${f1(m.concurrent.seconds)} s${m.concurrent.again === null ? "" : ` (again: ${m.concurrent.again.failed.length === 0 ? "every request finished" : `**${m.concurrent.again.failed.length} failed**`} in ${f1(m.concurrent.again.seconds)} s)`}; the pool's peak charge ${mbOf(m.concurrent.pool.peakResidentBytes)} MB (budget ${mbOf(m.concurrent.pool.budgetBytes)} MB), so requests beyond it waited for a context.${m.preparation === undefined ? " Fusing a composite (engine/calibrations/fusedMix.ts) takes memory of its own while it runs, outside the pool: the difference between the two peaks." : ""}`,
        "",
        "What the pool charges a context of each size of this model (engine/runtime/contextMemory.ts: KV cache, attention scores of one batch, output and scratch):",
        "",
        "| context tokens | KV cache MB | charged MB |",
        "|---|---|---|",
        ...m.contextEstimates.map((e) => `| ${e.contextSize} | ${f1(e.kvCacheMb)} | ${f1(e.chargedMb)} |`),
        "",
        `Memory phase: ${f1(m.wallSeconds)} s.`,
        "",
    );
    return lines;
}

function peerSection(p: PeerResults | null): string[] {
    const lines = ["## Peer: the lab's PyTorch implementation of the same composite", ""];
    if (p === null) return [...lines, "Not run (--no-peer).", ""];
    const row = (name: string, s: PeerResults["engine"]) =>
        `| ${name} | ${spread(s.promptTokPerS)} | ${spread(s.decodeTokPerS)} | ${spread(s.msPerGeneratedToken)} | ${f1(s.generatedTokens.median)} |`;
    lines.push(
        `${p.chain} with LC++ in one pass on ${p.inputs} DialogSum dev inputs, greedy, max ${p.maxTokens} new tokens, ${p.threads} thread(s) on both sides, one untimed warm-up each; run one after the other in this bench run. Engine: node-llama-cpp on the Q4_K_M GGUF with the adapters and the expanded calibration as LoRAs. PyTorch ${p.torch}: lab/lab/eval/peer.py, the same GGUF dequantized to F32, the task LoRAs merged in concat form and the calibration hooked into every projection (the training code's math), KV cache on. Pack: ${p.pack}.`,
        "",
        "| implementation | prompt tok/s | decode tok/s | ms per generated token (prompt included) | generated tokens |",
        "|---|---|---|---|---|",
        row("engine (llama.cpp)", p.engine),
        row("PyTorch (lab)", p.pytorch),
        "",
        `Engine / PyTorch, medians of per-input ratios: decode **${f2(p.ratios.decode)}x**, prompt **${f2(p.ratios.prompt)}x**, time per generated token **${f2(p.ratios.perGeneratedToken)}x** faster. Identical greedy text on ${p.identicalTexts}/${p.inputs} inputs (the engine runs the quantized weights, the peer their F32 dequantization: lab/README.md's parity table). First input — engine: "${cell(clip(p.firstPair.engine, 160))}"; PyTorch: "${cell(clip(p.firstPair.pytorch, 160))}". Peer phase: ${f1(p.wallSeconds)} s.`,
        "",
    );
    return lines;
}

function workSection(w: RealWorkResults | null): string[] {
    const lines = ["## The real work, timed", ""];
    if (w === null) return [...lines, "Not run (--no-work).", ""];
    const s = (ms: number) => (ms / 1000).toFixed(2);
    lines.push(
        `Held-out real text (bench/realText.ts's selection: ${w.emails} email(s) per command, the longest long document), the engine's defaults, ${w.threads} thread(s), one untimed warm-up per method; medians over the inputs. *First text*: from the request to the first streamed text (summaries and replies stream a sentence at a time); the PyTorch path (lab/lab/eval/peer.py, the same one pass) does not stream, its first text is its first token. *First token*: for an answer made in one generation (the time before it: context, prompt). *Tokens*: generated, all generations (PyTorch has no DRY, loop guard or sentence stops, so it runs to its budget more often). *Ratio*, on each other row: what users get (the task's first row) over that row, the median of per-input ratios; below 1, users wait less.`,
        "",
        "| task | method (ran as) | inputs (words) | first token s | first text s | whole answer s | generations | tokens | ratio first text | ratio whole |",
        "|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const item of w.items) {
        const words = item.inputs.map((i) => i.words).join(", ");
        for (const side of item.sides) {
            const ranAs = [...new Set(side.runs.map((r) => r.ranAs))].join(", ");
            const ratio = item.ratios[side.method];
            const generations = side.runs.reduce((sum, r) => sum + r.generations, 0) / Math.max(1, side.runs.length);
            lines.push(
                `| ${item.item.name} | ${side.method} (${ranAs}) | ${side.runs.length} (${words}) | ${Number.isFinite(side.firstTokenMs?.median) ? s(side.firstTokenMs.median) : "–"} | ${s(side.firstTextMs.median)} | ${s(side.totalMs.median)} | ${f1(generations)} | ${f1(side.generatedTokens?.median)} | ${ratio === undefined ? "–" : f2(ratio.firstText)} | ${ratio === undefined ? "–" : f2(ratio.total)} |`,
            );
        }
    }
    lines.push("", `Work phase: ${f1(w.wallSeconds)} s.`, "");
    return lines;
}

export function renderReport(results: BenchResults): string {
    const c = results.config as {
        model?: {name?: string; fingerprint?: string; sha256?: string};
        pack?: {description?: string};
    };
    return [
        `# Benchmark report, ${results.date}${results.quick ? " (quick mode: plumbing check, not results)" : ""}`,
        "",
        `Command: \`${results.command}\` — wall time ${f1(results.wallSeconds)} s.`,
        `Model: ${c.model?.name} (fingerprint ${c.model?.fingerprint?.slice(0, 12)}…, file sha256 ${c.model?.sha256?.slice(0, 12)}…). Quality pack: ${c.pack?.description}. Full configuration and every number: results.json.`,
        "",
        ...results.notes.map((n) => `- ${n}`),
        "",
        ...qualitySection(results),
        ...formalitySection(results.formality),
        ...newsSection(results.news),
        ...realTextSection(results.realText),
        ...efficiencySection(results.efficiency),
        ...speedSection(results.speed),
        ...memorySection(results.memory),
        ...startupSection(results.startup ?? null),
        ...peerSection(results.peer),
        ...workSection(results.work),
        "## Charts",
        "",
        "![quality per method](quality.png)",
        "",
        "![latency per method](latency.png)",
        "",
    ].join("\n");
}

export async function writeReport(root: string, dir: string, results: BenchResults): Promise<string[]> {
    await mkdir(dir, {recursive: true});
    const json = join(dir, "results.json");
    await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(dir, "report.md"), renderReport(results));
    const charts = await runPythonJson<{charts: string[]}>(root, "lab.eval.charts", [json, dir]);
    return ["report.md", "results.json", ...charts.charts];
}
