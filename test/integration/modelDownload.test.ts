// Model download through node-llama-cpp's downloader against a server on 127.0.0.1 (the only
// network these machines have): progress, cancellation, sha256 check, and a completed download.

import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import {mkdtemp, readdir, rm, stat} from "node:fs/promises";
import {createServer, type Server} from "node:http";
import type {AddressInfo} from "node:net";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, test} from "node:test";
import {downloadModel, ModelDownloadCancelledError, ModelDownloadError} from "../../engine/model/download";

const SIZE = 3_000_000;
const payload = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) payload[i] = (i * 31 + 7) & 0xff;
const payloadSha = createHash("sha256").update(payload).digest("hex");

let server: Server;
let baseUrl: string;
const requests: string[] = [];

before(async () => {
    // Serves `payload` slowly (100 kB every 20 ms) with range support, like a model host.
    server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url} ${req.headers.range ?? "-"}`);
        const range = /bytes=(\d+)-/.exec(req.headers.range ?? "");
        const start = range ? Number(range[1]) : 0;
        const headers: Record<string, string | number> = {
            "content-type": "application/octet-stream",
            "accept-ranges": "bytes",
            "content-length": SIZE - start,
        };
        if (range) headers["content-range"] = `bytes ${start}-${SIZE - 1}/${SIZE}`;
        res.writeHead(range ? 206 : 200, headers);
        if (req.method === "HEAD") {
            res.end();
            return;
        }
        let position = start;
        const timer = setInterval(() => {
            if (position >= SIZE) {
                clearInterval(timer);
                res.end();
                return;
            }
            const end = Math.min(position + 100_000, SIZE);
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

test("cancelling a download rejects and leaves no model file behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "composer-download-"));
    try {
        const controller = new AbortController();
        await assert.rejects(
            downloadModel(`${baseUrl}/cancelled.gguf`, {
                modelsDir: dir,
                signal: controller.signal,
                onProgress: (p) => {
                    if (p.downloadedBytes > SIZE / 3) controller.abort();
                },
            }),
            ModelDownloadCancelledError,
        );
        const left = await readdir(dir);
        assert.ok(
            !left.includes("cancelled.gguf") || (await stat(join(dir, "cancelled.gguf"))).size < SIZE,
            String(left),
        );
        // Retrying after a cancel completes the file.
        const path = await downloadModel(`${baseUrl}/cancelled.gguf`, {modelsDir: dir, expectedSha256: payloadSha});
        assert.equal((await stat(path)).size, SIZE);
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
