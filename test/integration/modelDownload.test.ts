// Model download through node-llama-cpp's downloader against a server on 127.0.0.1 (the only
// network these machines have): progress, cancellation, resume, and the sha256 check; then the
// same through the engine process without a model, as the extension's "Download Model" asks for
// it, including the engine dying mid-download.

import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import {existsSync} from "node:fs";
import {mkdtemp, readdir, rm, stat, symlink} from "node:fs/promises";
import {createServer, type Server} from "node:http";
import type {AddressInfo} from "node:net";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {hostScriptPath} from "../../engine/config";
import {EngineClient, EngineCrashedError} from "../../engine/isolation/engineClient";
import {DEFAULT_MODEL} from "../../engine/model/catalog";
import {downloadModel, ModelDownloadCancelledError, ModelDownloadError} from "../../engine/model/download";
import type {ModelFetchProgress} from "../../engine/model/fetch";
import {realModelPath, repoRoot} from "../support/realModel";

// Big enough for several of the downloader's 5 MiB chunks: it keeps finished chunks on cancel.
const SIZE = 40_000_000;
const payload = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) payload[i] = (i * 31 + 7) & 0xff;
const payloadSha = createHash("sha256").update(payload).digest("hex");

let server: Server;
let baseUrl: string;
const requests: string[] = [];

before(async () => {
    // Serves `payload` at about 50 MB/s (1 MB every 20 ms) with range support, like a model host.
    server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url} ${req.headers.range ?? "-"}`);
        const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
        const start = range ? Number(range[1]) : 0;
        const stop = range?.[2] ? Number(range[2]) + 1 : SIZE;
        const headers: Record<string, string | number> = {
            "content-type": "application/octet-stream",
            "accept-ranges": "bytes",
            "content-length": stop - start,
        };
        if (range) headers["content-range"] = `bytes ${start}-${stop - 1}/${SIZE}`;
        res.writeHead(range ? 206 : 200, headers);
        if (req.method === "HEAD") {
            res.end();
            return;
        }
        let position = start;
        const timer = setInterval(() => {
            if (position >= stop) {
                clearInterval(timer);
                res.end();
                return;
            }
            const end = Math.min(position + 1_000_000, stop);
            res.write(payload.subarray(position, end));
            position = end;
        }, 20);
        res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("a download reports progress up to the full size and checks the sha256", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
    try {
        const seen: number[] = [];
        const path = await downloadModel(`${baseUrl}/tiny-model.gguf`, {
            modelsDir: dir,
            expectedSha256: payloadSha,
            onProgress: (p) => {
                assert.equal(p.totalBytes, SIZE);
                seen.push(p.downloadedBytes);
            },
        });
        assert.equal((await stat(path)).size, SIZE);
        assert.ok(seen.length >= 2, `progress was reported ${seen.length} times`);
        assert.deepEqual(
            seen,
            [...seen].sort((a, b) => a - b),
            "progress never goes back",
        );
        assert.equal(seen.at(-1), SIZE);
        assert.ok(requests.some((r) => r.includes("/tiny-model.gguf")));
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});

test("a cancelled download rejects, keeps what it has, and resumes from there", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
    try {
        const controller = new AbortController();
        await assert.rejects(
            downloadModel(`${baseUrl}/resumed.gguf`, {
                modelsDir: dir,
                signal: controller.signal,
                // Progress counts bytes received, written later: with both cores busy, a cancel at
                // half the bytes twice found no partial file to keep (2 of 15 runs).
                // What is kept is what is on disk, so cancel once part of it is there.
                onProgress: (p) => {
                    if (p.downloadedBytes > SIZE / 2 && existsSync(join(dir, "resumed.gguf.ipull"))) controller.abort();
                },
            }),
            ModelDownloadCancelledError,
        );
        const left = await readdir(dir);
        assert.ok(!left.includes("resumed.gguf"), "no complete-looking model file after a cancel");
        assert.ok(
            left.some((name) => name.startsWith("resumed.gguf.")),
            `the partial download is kept: ${left}`,
        );

        let firstProgress = -1;
        const path = await downloadModel(`${baseUrl}/resumed.gguf`, {
            modelsDir: dir,
            expectedSha256: payloadSha,
            onProgress: (p) => {
                if (firstProgress < 0) firstProgress = p.downloadedBytes;
            },
        });
        assert.equal((await stat(path)).size, SIZE);
        // Finished 5 MiB chunks are kept, chunks in flight fetched again; a fresh start first reports ~64 kB.
        assert.ok(firstProgress >= 1_000_000, `the retry starts from the kept part (first progress ${firstProgress})`);
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});

test("a file whose sha256 differs from the pinned one is rejected and deleted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
    try {
        await assert.rejects(
            downloadModel(`${baseUrl}/tampered.gguf`, {modelsDir: dir, expectedSha256: "0".repeat(64)}),
            (error: unknown) => error instanceof ModelDownloadError && /expected 0{64}.*deleted/.test(error.message),
        );
        assert.deepEqual(
            (await readdir(dir)).filter((name) => name.startsWith("tampered")),
            [],
        );
    } finally {
        await rm(dir, {recursive: true, force: true});
    }
});

describe("through the engine process, before any model exists", () => {
    const fetchClient = () => new EngineClient({hostScript: hostScriptPath(repoRoot())});
    const uri = (name: string) => ({kind: "uri", uri: `${baseUrl}/${name}`, sha256: payloadSha}) as const;

    test("a fetch streams byte progress, checks the sha256 and answers with the file", async () => {
        const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
        const client = fetchClient();
        try {
            const seen: ModelFetchProgress[] = [];
            const path = await client.fetchModel(uri("via-engine.gguf"), {
                modelsDir: dir,
                onProgress: (p) => seen.push(p),
            });
            assert.equal(path, join(dir, "via-engine.gguf"));
            assert.equal((await stat(path)).size, SIZE);
            assert.ok(seen.length >= 2, `progress was reported ${seen.length} times`);
            assert.ok(seen.every((p) => p.step === "download" && p.unit === "bytes" && p.total === SIZE));
            assert.equal(seen.at(-1)?.done, SIZE);
        } finally {
            await client.dispose();
            await rm(dir, {recursive: true, force: true});
        }
    });

    test("an engine killed mid-download fails the fetch as a crash and installs nothing; the next fetch finishes it", async () => {
        const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
        const client = fetchClient();
        try {
            const killed = client.fetchModel(uri("crashed.gguf"), {
                modelsDir: dir,
                onProgress: (p) => {
                    if (p.done > SIZE / 4) client.kill("SIGKILL");
                },
            });
            await assert.rejects(killed, (error: unknown) => {
                assert.ok(error instanceof EngineCrashedError, String(error));
                assert.match((error as Error).message, /stopped \(signal SIGKILL\) before answering/);
                return true;
            });
            const left = await readdir(dir);
            assert.ok(!left.includes("crashed.gguf"), `no file under the model's name: ${left}`);

            const path = await client.fetchModel(uri("crashed.gguf"), {modelsDir: dir});
            assert.equal((await stat(path)).size, SIZE, "a new engine process fetched it whole (sha256 checked)");
        } finally {
            await client.dispose();
            await rm(dir, {recursive: true, force: true});
        }
    });

    test("the default model already in place is checked by its sha256, not fetched again", async () => {
        const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
        const client = fetchClient();
        try {
            // A link to the real model: what "Download Model" finds after a first run.
            await symlink(await realModelPath(), join(dir, DEFAULT_MODEL.fileName));
            const seen: ModelFetchProgress[] = [];
            const path = await client.fetchModel({kind: "default"}, {modelsDir: dir, onProgress: (p) => seen.push(p)});
            assert.equal(path, join(dir, DEFAULT_MODEL.fileName));
            assert.deepEqual(seen, [
                {step: "verify", unit: "parts", done: 0, total: 1},
                {step: "verify", unit: "parts", done: 1, total: 1},
            ]);
            assert.deepEqual(await readdir(dir), [DEFAULT_MODEL.fileName], "no wheels fetched, no file derived");
        } finally {
            await client.dispose();
            await rm(dir, {recursive: true, force: true});
        }
    });

    test("a cancelled fetch ends with the engine's cancellation and installs nothing", async () => {
        const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
        const client = fetchClient();
        try {
            const controller = new AbortController();
            await assert.rejects(
                client.fetchModel(uri("cancelled.gguf"), {
                    modelsDir: dir,
                    signal: controller.signal,
                    onProgress: (p) => {
                        if (p.done > SIZE / 4) controller.abort();
                    },
                }),
                (error: unknown) => (error as Error).name === "RequestCancelledError",
            );
            assert.ok(!(await readdir(dir)).includes("cancelled.gguf"));
        } finally {
            await client.dispose();
            await rm(dir, {recursive: true, force: true});
        }
    });
});
