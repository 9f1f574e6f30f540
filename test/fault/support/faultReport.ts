// Counts per probe for the fault suite, written to test-results/fault/<group>.json; report.md is
// rebuilt from every group's JSON there, so each test file adds its own part.

import {mkdir, readdir, readFile, writeFile} from "node:fs/promises";
import {join} from "node:path";
import {messageForUser} from "../../../engine/messages/quote";
import {repoRoot} from "../../support/realModel";

export interface ProbeCounts {
    /** Mutants refused with a specific message, by error code (or reason kind). */
    readonly refused: Record<string, number>;
    /** Accepted, and the composition (or operation) worked. */
    working: number;
    readonly failures: {readonly mutant: string; readonly problem: string}[];
    total: number;
}

export interface FaultGroupReport {
    readonly group: string;
    readonly title: string;
    readonly seed: number;
    readonly seconds: number;
    readonly probes: Record<string, ProbeCounts>;
    /** One message per refusal code, as the user would read it. */
    readonly examples?: Record<string, string>;
    readonly notes: readonly string[];
}

export class FaultTally {
    readonly probes = new Map<string, ProbeCounts>();
    readonly examples = new Map<string, string>();

    private probe(name: string): ProbeCounts {
        let counts = this.probes.get(name);
        if (counts === undefined) {
            counts = {refused: {}, working: 0, failures: [], total: 0};
            this.probes.set(name, counts);
        }
        return counts;
    }

    refused(probe: string, code: string, message?: string): void {
        if (message !== undefined && !this.examples.has(code)) this.examples.set(code, messageForUser(message, 400));
        const counts = this.probe(probe);
        counts.total++;
        counts.refused[code] = (counts.refused[code] ?? 0) + 1;
    }

    working(probe: string): void {
        const counts = this.probe(probe);
        counts.total++;
        counts.working++;
    }

    failure(probe: string, mutant: string, problem: string): void {
        const counts = this.probe(probe);
        counts.total++;
        counts.failures.push({mutant, problem: messageForUser(problem, 600)});
    }

    get total(): number {
        let total = 0;
        for (const counts of this.probes.values()) total += counts.total;
        return total;
    }

    get failures(): string[] {
        return [...this.probes].flatMap(([probe, counts]) =>
            counts.failures.map((f) => `${probe} / ${f.mutant}: ${f.problem}`),
        );
    }

    toJSON(): Record<string, ProbeCounts> {
        return Object.fromEntries([...this.probes].sort(([a], [b]) => (a < b ? -1 : 1)));
    }
}

export function faultResultsDir(): string {
    return join(repoRoot(), "test-results", "fault");
}

/** Writes this group's JSON and rebuilds report.md from all groups present. */
export async function writeFaultReport(report: FaultGroupReport): Promise<void> {
    const dir = faultResultsDir();
    await mkdir(dir, {recursive: true});
    await writeFile(join(dir, `${report.group}.json`), `${JSON.stringify(report, null, 2)}\n`);
    const groups: FaultGroupReport[] = [];
    for (const name of (await readdir(dir)).filter((n) => n.endsWith(".json")).sort())
        groups.push(JSON.parse(await readFile(join(dir, name), "utf8")) as FaultGroupReport);
    const lines = [
        "# Fault suite report",
        "",
        "Written by `node scripts/test.mjs fault`; one section per test file.",
        "",
    ];
    for (const group of groups) {
        const rows = Object.entries(group.probes);
        const sum = (pick: (c: ProbeCounts) => number) => rows.reduce((n, [, c]) => n + pick(c), 0);
        const refusedOf = (c: ProbeCounts) => Object.values(c.refused).reduce((n, k) => n + k, 0);
        lines.push(
            `## ${group.title}`,
            "",
            `Seed ${group.seed}, ${group.seconds.toFixed(1)} s: ${sum((c) => c.total)} cases, ` +
                `${sum(refusedOf)} refused with a specific message, ${sum((c) => c.working)} accepted and working, ` +
                `**${sum((c) => c.failures.length)} failures**.`,
            "",
            "| probe | cases | refused (specific) | accepted & working | failures | refusals by code |",
            "|---|---:|---:|---:|---:|---|",
        );
        for (const [probe, c] of rows) {
            const codes = Object.entries(c.refused)
                .sort(([, a], [, b]) => b - a)
                .map(([code, n]) => `${code} ${n}`)
                .join(", ");
            lines.push(`| ${probe} | ${c.total} | ${refusedOf(c)} | ${c.working} | ${c.failures.length} | ${codes} |`);
        }
        const failures = rows.flatMap(([probe, c]) => c.failures.map((f) => `- ${probe} / ${f.mutant}: ${f.problem}`));
        if (failures.length > 0) lines.push("", "Failures:", "", ...failures);
        const examples = Object.entries(group.examples ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
        if (examples.length > 0)
            lines.push(
                "",
                "One message per refusal code:",
                "",
                ...examples.map(([code, m]) => `- \`${code}\`: ${m.replaceAll("\n", " ")}`),
            );
        if (group.notes.length > 0) lines.push("", ...group.notes.map((note) => `- ${note}`));
        lines.push("");
    }
    await writeFile(join(dir, "report.md"), `${lines.join("\n")}\n`);
}
