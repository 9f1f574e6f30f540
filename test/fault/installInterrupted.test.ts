// "Install interrupted at every step": a child process installs, replaces or removes an adapter
// and is killed (SIGKILL) at each step the store names, and at seeded random moments during a
// replace; after every kill the store must hold the old or the new adapter, whole, under its id,
// and the next store operation must leave no scratch folder behind. Counts per probe:
// test-results/fault/install.json.
//
// The same file is the child: run with COMPOSER_FAULT_INSTALLER set, it does one operation.

import assert from "node:assert/strict";
import {spawn} from "node:child_process";
import {appendFile, mkdtemp, readdir, rm, writeFile} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {type CraftedAdapter, craftAdapter, sha256Hex, writeTinyBaseModel} from "../../craft/gguf";
import {seededRandom} from "../../craft/seededRandom";
import {AdapterStore, type StoreStep} from "../../engine/adapters/store";
import {readGgufHeader} from "../../engine/gguf";
import {type BaseModelStructure, describeBaseModel} from "../../engine/model/fingerprint";
import {FaultTally, writeFaultReport} from "./support/faultReport";

interface InstallerJob {
    readonly op: "install" | "replace" | "remove";
    readonly killAt: StoreStep | null;
    readonly writableDir: string;
    readonly source: string;
    readonly basePath: string;
    readonly id: string;
}

const CHILD_JOB = process.env.COMPOSER_FAULT_INSTALLER;
const SEED = Number(process.env.COMPOSER_FAULT_SEED ?? 15);
const RANDOM_KILLS = 12;
const ID = "test.summarize";

if (CHILD_JOB !== undefined) {
    const job = JSON.parse(CHILD_JOB) as InstallerJob;
    const base = describeBaseModel(await readGgufHeader(job.basePath));
    const store = new AdapterStore({
        bundledDirs: [],
        writableDir: job.writableDir,
        onStep: (step) => {
            if (step === job.killAt) process.kill(process.pid, "SIGKILL");
        },
    });
    if (job.op === "remove") await store.remove(job.id);
    else await store.install(job.source, base, {replace: job.op === "replace"});
    process.exit(0);
} else {
    describe("an install, replace or removal killed at any step loses nothing", () => {
        let work = "";
        let basePath = "";
        let base: BaseModelStructure;
        let old: CraftedAdapter;
        let fresh: CraftedAdapter;
        let runs = 0;
        const tally = new FaultTally();
        const started = performance.now();

        before(async () => {
            work = await mkdtemp(join(tmpdir(), "composer-fault-install-"));
            basePath = join(work, "base.gguf");
            ({base} = await writeTinyBaseModel(basePath));
            // 16 MB of trailing bytes (accepted: llama.cpp reads only up to the tensor data) make
            // copying and hashing take long enough for a kill to land in the middle of them.
            const padded = async (dir: string, seed: number): Promise<CraftedAdapter> => {
                const crafted = await craftAdapter(dir, base, {task: "summarize", seed});
                await appendFile(crafted.ggufPath, Buffer.alloc(16 << 20, seed));
                const sha256 = await sha256Hex(crafted.ggufPath);
                await writeFile(crafted.manifestPath, JSON.stringify({...crafted.manifest, sha256}, null, 2));
                return {...crafted, sha256};
            };
            old = await padded(join(work, "sources", "old"), 1);
            fresh = await padded(join(work, "sources", "new"), 2);
        });

        after(async () => {
            await writeFaultReport({
                group: "install",
                title: "Install interrupted (SIGKILL at every step, and at random moments)",
                seed: SEED,
                seconds: (performance.now() - started) / 1000,
                probes: tally.toJSON(),
                notes: [
                    "Each case: a child process runs AdapterStore.install / install --replace / remove and is killed; " +
                        "then a new store lists the adapters (recovering what the kill left) and must find the old or " +
                        "the new adapter whole under its id, and no scratch folder left.",
                ],
            }).catch(() => undefined);
            if (work) await rm(work, {recursive: true, force: true});
        });

        /** A fresh writable folder, with the old adapter installed unless `empty`. */
        async function storeWith(empty: boolean): Promise<AdapterStore> {
            const store = new AdapterStore({bundledDirs: [], writableDir: join(work, `store-${++runs}`)});
            if (!empty) await store.install(old.dir, base);
            return store;
        }

        /** Runs the child; resolves with the signal that ended it (null: it finished). */
        function runInstaller(job: InstallerJob, killAfterMs?: number): Promise<NodeJS.Signals | null> {
            return new Promise((resolve, reject) => {
                const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
                    env: {...process.env, COMPOSER_FAULT_INSTALLER: JSON.stringify(job)},
                    stdio: ["ignore", "ignore", "pipe"],
                });
                let stderr = "";
                child.stderr.on("data", (chunk: Buffer) => {
                    stderr += chunk.toString();
                });
                const timer =
                    killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
                child.on("error", reject);
                child.on("exit", (code, signal) => {
                    clearTimeout(timer);
                    if (signal === null && code !== 0)
                        reject(new Error(`installer exit ${code}: ${stderr.slice(-500)}`));
                    else resolve(signal);
                });
            });
        }

        /** What the next start sees; the problem if the store is not whole, or null. */
        async function checkStore(store: AdapterStore, allowed: readonly (string | null)[]): Promise<string | null> {
            const next = new AdapterStore({bundledDirs: [], writableDir: store.writableDir});
            const entries = await next.list(base);
            const entry = entries.find((e) => e.id === ID);
            const found =
                entry === undefined
                    ? null
                    : entry.status === "valid"
                      ? entry.adapter.sha256
                      : `invalid: ${entry.error.message}`;
            if (!allowed.includes(found))
                return `found ${found ?? "no adapter"}, expected ${allowed.map((a) => a ?? "none").join(" or ")}`;
            if (entries.length > 1) return `unexpected entries: ${entries.map((e) => e.id).join(", ")}`;
            const left = (await readdir(store.writableDir)).filter((name) => name !== ID);
            if (left.length > 0) return `left behind after recovery: ${left.join(", ")}`;
            for (const source of [old, fresh])
                if ((await sha256Hex(source.ggufPath)) !== source.sha256) return `the source ${source.dir} changed`;
            // And the store still works: the next replace succeeds.
            await next.install(fresh.dir, base, {replace: true});
            return null;
        }

        const cases: [InstallerJob["op"], StoreStep, "old" | "new" | "none"][] = [
            ["install", "install:staged", "none"],
            ["install", "install:new-in-place", "new"],
            ["replace", "install:staged", "old"],
            ["replace", "install:old-moved-aside", "old"],
            ["replace", "install:new-in-place", "new"],
            ["replace", "install:old-removed", "new"],
            ["remove", "remove:moved-aside", "none"],
            ["remove", "remove:deleted", "none"],
        ];

        test("killed at each step, the next start finds the old or the new adapter, whole, and nothing else", async () => {
            for (const [op, step, expect] of cases) {
                const store = await storeWith(op === "install");
                const oldSha = (await store.list(base)).find((e) => e.id === ID);
                const installedOld = oldSha?.status === "valid" ? oldSha.adapter.sha256 : null;
                const signal = await runInstaller({
                    op,
                    killAt: step,
                    writableDir: store.writableDir,
                    source: fresh.dir,
                    basePath,
                    id: ID,
                });
                const probe = `${op} killed at ${step}`;
                if (signal !== "SIGKILL") {
                    tally.failure(probe, step, "the installer was not killed: the step was never reached");
                    continue;
                }
                const allowed = expect === "old" ? [installedOld] : expect === "new" ? [fresh.sha256] : [null];
                const problem = await checkStore(store, allowed);
                if (problem === null) tally.working(probe);
                else tally.failure(probe, step, problem);
            }
            assert.deepEqual(tally.failures, []);
        });

        test(`killed at ${RANDOM_KILLS} seeded random moments of a replace, the store is always whole`, async () => {
            const random = seededRandom(SEED + 2);
            // How long an uninterrupted replace takes here, to spread the kills over it.
            const timing = await storeWith(false);
            const t0 = performance.now();
            await runInstaller({
                op: "replace",
                killAt: null,
                writableDir: timing.writableDir,
                source: fresh.dir,
                basePath,
                id: ID,
            });
            const full = performance.now() - t0;
            for (let i = 0; i < RANDOM_KILLS; i++) {
                const store = await storeWith(false);
                const entry = (await store.list(base)).find((e) => e.id === ID);
                const oldSha = entry?.status === "valid" ? entry.adapter.sha256 : null;
                const delay = Math.round(random.uniform() * full);
                await runInstaller(
                    {op: "replace", killAt: null, writableDir: store.writableDir, source: fresh.dir, basePath, id: ID},
                    delay,
                );
                const problem = await checkStore(store, [oldSha, fresh.sha256]);
                if (problem === null) tally.working("replace killed at a random moment");
                else
                    tally.failure(
                        "replace killed at a random moment",
                        `after ${delay} of ${full.toFixed(0)} ms`,
                        problem,
                    );
            }
            assert.deepEqual(tally.failures, []);
        });
    });
}
