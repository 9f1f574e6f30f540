// The report's "Real text" section (bench/realText.ts): broken outputs per command and genre with
// their reasons, chrF where a human translation exists, length ratios, and examples.

import type {BrokenTally, RealTextCell, RealTextResults} from "./realText";
import {COMMANDS, GENRE_TITLES, GENRES, type Genre} from "./realTextCommands";

const f1 = (x: number | null | undefined) =>
    x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(1);
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const pct = (k: number, n: number) => (n === 0 ? "–" : `${Math.round((100 * k) / n)}%`);
const oneLine = (text: string) => text.replaceAll("|", "\\|").replace(/\s*\n\s*/g, " ⏎ ");
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** "3/8 (loop 2, cut 3)": broken of n, then outputs per reason. */
export function tallyText(t: BrokenTally): string {
    const reasons = Object.entries(t.reasons).map(([reason, k]) => `${reason} ${k}`);
    return `${t.broken}/${t.n}${reasons.length > 0 ? ` (${reasons.join(", ")})` : ""}`;
}

function methodsText(cells: readonly RealTextCell[]): string {
    const counts: Record<string, number> = {};
    for (const c of cells) for (const [m, k] of Object.entries(c.methods)) counts[m] = (counts[m] ?? 0) + k;
    const passes = Math.max(...cells.map((c) => c.passes));
    const names = Object.keys(counts).join(", ") || "–";
    return `${names}${passes > 1 ? ` (up to ${passes} generations)` : ""}`;
}

export function realTextSection(r: RealTextResults | null): string[] {
    const lines = ["## Real text", ""];
    if (r === null) return [...lines, "Not run (--no-real-text).", ""];
    const genres = GENRES.filter((g) => r.genres[g] !== undefined);
    const cellOf = (command: string, genre: Genre) => r.cells.find((c) => c.command === command && c.genre === genre);
    const commands = COMMANDS.filter((command) => r.cells.some((c) => c.command === command));
    const overall = r.totals.overall;
    lines.push(
        "Every command a user has (each task alone, the 14 composites, chains of three) on human-written text of several genres, run as the editor runs it: `Engine.compose` with method **auto** and the engine's defaults " +
            `(context ${r.engine.contextSize} tokens; token budget: ${r.engine.maxTokens === null ? "each task's own (engine/compose/length.ts)" : `${r.engine.maxTokens} new tokens per generation`}; ${r.engine.threads ?? "default"} thread(s)). ` +
            "An input is offered to a command only if no adapter or calibration that command can run was trained on it or had a teacher target built on it (lab/lab/eval/realtext.py, by content; NTREX: whole documents). " +
            "Kept apart from the paper's 14-variant suite above, which stays as it was.",
        "",
        `Inputs: ${genres
            .map((g) => {
                const info = r.genres[g];
                return `${GENRE_TITLES[g]} ${info?.inputs} (words ${info?.words.join(" / ")} min / median / max; up to ${r.inputsPerCommand[g]} per command${r.pools[g] === undefined ? "" : ` of ${r.pools[g]}`})`;
            })
            .join(
                "; ",
            )}. Sources: ${r.files.map((f) => `\`${f.path}\` (${f.sha256.slice(0, 12)}…)`).join(", ")}; seed ${r.seed}.`,
        "",
        ...Object.entries(r.missing ?? {}).map(
            ([genre, why]) =>
                `**Not measured: ${GENRE_TITLES[genre as Genre]}** (its data set could not be had: ${oneLine(clip(why, 300))}).\n`,
        ),
        `**${pct(overall.broken, overall.n)} of ${overall.n} outputs broken** (${tallyText(overall)}). ${r.generations} generations; from an empty cache they take ${(r.generationSeconds / 60).toFixed(1)} min (sum of the recorded times). The engine's loop guard stopped a generation in ${r.stoppedByLoopGuard ?? 0} outputs${r.stoppedAtSentenceLimit === undefined ? "" : `, the rewrite sentence limit in ${r.stoppedAtSentenceLimit}`}${r.stoppedByScriptGuard === undefined ? "" : `, the script guard in ${r.stoppedByScriptGuard}`}.`,
        "",
        "Broken means at least one of (bench/brokenOutput.ts): **error** the engine failed; **empty** no letters or digits; " +
            `**cut** the answer stopped at a token budget, mid-sentence or not: as the engine says it (\`cutAtBudget\`), or for an engine that did not say it, a pass whose stop reason is a limit (${r.engine.maxTokens === null ? "" : `a "max-tokens" pass with fewer than the ${r.engine.maxTokens}-token budget ended by itself: the engine before 2026-12-04 said "max-tokens" for all; `}the loop guard's "repetition", the rewrite sentence limit's "overrun" and the script guard's "off-script" are not limits); ` +
            "**loop** the same word sequence back to back (3+ copies and 8+ words, or a 10+ word stretch twice), the same 4+ word sentence 3+ times, or the lab's character tail loop, unless the input repeats it as often; " +
            "**wrong-language** (3+ words) not identified as the target language (English for the rest) by the benchmark's language ID (Lingua for es / fr / de; English when langid or Lingua says so) on each of its sentences once, or letters of a script that neither the input nor the target language uses (Cyrillic in a French translation of English); " +
            `**content-dropped** a translation or tone rewrite shorter than ${r.contentFloor.translate} (translation) / ${r.contentFloor.tone} (tone) of its input's characters (inputs of 8+ words); ` +
            "**placeholder** DialogSum tags (#Person1#) or speaker labels (Person 1:) the input did not have; **echo** the prompt's instruction or turn markers in the output; **copied** a summary or reply that is its input's own text (90%+ of its words in 6-word runs of the input, and 0.4+ of the input's words for a summary, 6+ words for a reply); " +
            "**unchanged** a tone rewrite that gives its input (8+ words) back: 90%+ of its words in 6-word runs of the input; " +
            '**facts-changed** a tone rewrite that lost a number or a name of its input, or has more or fewer "not"s ("was not due to" -> "was due to") or "if"s ("if there is something to discuss I will set up the meeting" -> "I will set up the meeting").',
        "",
        "### Broken outputs per command and genre",
        "",
        "Broken / outputs (outputs per reason; one output can have several).",
        "",
        `| command | auto ran | ${genres.map((g) => GENRE_TITLES[g]).join(" | ")} | all genres |`,
        `|---|---|${genres.map(() => "---").join("|")}|---|`,
    );
    for (const command of commands) {
        const mine = r.cells.filter((c) => c.command === command);
        const total = r.totals.byCommand[command];
        lines.push(
            `| ${command} | ${methodsText(mine)} | ${genres
                .map((g) => {
                    const c = cellOf(command, g);
                    return c === undefined ? "–" : tallyText(c);
                })
                .join(
                    " | ",
                )} | ${total === undefined ? "–" : `**${pct(total.broken, total.n)}** ${tallyText(total)}`} |`,
        );
    }
    lines.push(
        `| **all commands** | | ${genres
            .map((g) => {
                const t = r.totals.byGenre[g];
                return t === undefined ? "–" : `**${pct(t.broken, t.n)}** ${tallyText(t)}`;
            })
            .join(" | ")} | **${pct(overall.broken, overall.n)}** ${tallyText(overall)} |`,
        "",
    );

    const withChrf = r.cells.filter((c) => c.chrfN > 0);
    lines.push("### chrF against the human translation of the same text", "");
    if (withChrf.length === 0) lines.push("No translate:X output with a human reference in this run.", "");
    else {
        const chrfGenres = GENRES.filter((g) => withChrf.some((c) => c.genre === g));
        lines.push(
            "translate:X alone (sacrebleu sentence chrF, %, mean over inputs): NTREX paragraphs against the human translation of the same sentences joined; CoCoA-MT customer messages against the better of the human formal and informal translations. Broken outputs included.",
            "",
            `| command | ${chrfGenres.map((g) => GENRE_TITLES[g]).join(" | ")} |`,
            `|---|${chrfGenres.map(() => "---").join("|")}|`,
            ...[...new Set(withChrf.map((c) => c.command))].map(
                (command) =>
                    `| ${command} | ${chrfGenres
                        .map((g) => {
                            const c = cellOf(command, g);
                            return c === undefined || c.chrfN === 0 ? "–" : `${f1(c.chrf)} (${c.chrfN})`;
                        })
                        .join(" | ")} |`,
            ),
            "",
        );
    }

    lines.push(
        "### Output length / input length (words)",
        "",
        "Median [interquartile range] over the outputs of each cell (errors left out). A translation or tone rewrite should be near 1; summaries and replies shorter.",
        "",
        `| command | ${genres.map((g) => GENRE_TITLES[g]).join(" | ")} |`,
        `|---|${genres.map(() => "---").join("|")}|`,
        ...commands.map(
            (command) =>
                `| ${command} | ${genres
                    .map((g) => {
                        const l = cellOf(command, g)?.lengthRatio;
                        return l === null || l === undefined ? "–" : `${f2(l.median)} [${f2(l.p25)}–${f2(l.p75)}]`;
                    })
                    .join(" | ")} |`,
        ),
        "",
        "### Examples",
        "",
        "Per command and genre: the first broken output (with its reasons) and the first sound one, in the seeded input order. Inputs cut to their first 200 characters, outputs to 400.",
        "",
    );
    for (const c of r.cells) {
        lines.push(`**${c.command}** on ${GENRE_TITLES[c.genre]} (${tallyText(c)})`, "");
        for (const e of c.examples) {
            const verdict =
                e.findings.length === 0
                    ? "sound"
                    : e.findings.map((f) => `**${f.reason}** (${oneLine(f.detail)})`).join(", ");
            lines.push(
                `- \`${e.id}\` (${oneLine(e.source)}) — ${verdict}`,
                `  - input: ${oneLine(clip(e.input, 200))}`,
                `  - output: ${oneLine(clip(e.output, 400)) || "(empty)"}`,
            );
        }
        lines.push("");
    }
    return lines;
}
