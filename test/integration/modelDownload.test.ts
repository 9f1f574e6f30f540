// Model download through node-llama-cpp's downloader against a server on 127.0.0.1 (the only
// network these machines have): progress, cancellation, resume, and the sha256 check.

import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import {mkdtemp, readdir, rm, stat} from "node:fs/promises";
import {createServer, type Server} from "node:http";
import type {AddressInfo} from "node:net";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {downloadModel, ModelDownloadCancelledError, ModelDownloadError} from "../../engine/model/download";

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
                onProgress: (p) => {
                    if (p.downloadedBytes > SIZE / 2) controller.abort();
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
