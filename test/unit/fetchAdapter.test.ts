// Installing an adapter from a URL: https and the manifest's sha256 are required, the adapter
// file comes from next to the manifest, and a mismatch leaves nothing behind.

import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import {mkdir, mkdtemp, readdir, readFile, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {basename, join} from "node:path";
import {test} from "node:test";
import {AdapterStoreError} from "../../engine/adapters/errors";
import {checkAdapterSource, fetchAdapter} from "../../engine/adapters/fetchAdapter";
import {sha256Text} from "../../engine/files/sha256";

const manifest = Buffer.from(JSON.stringify({id: "x.summarize", file: "adapter.gguf"}));
const adapterBytes = Buffer.from("GGUF fake adapter bytes");

function fakeFetch(files: Record<string, Buffer>, seen: string[] = []): typeof fetch {
    return (async (input: string | URL | Request) => {
        const url = String(input);
        seen.push(url);
        const body = files[url];
        return body === undefined ? new Response("missing", {status: 404}) : new Response(new Uint8Array(body));
    }) as typeof fetch;
}

test("only https URLs and a 64-hex sha256 are accepted, before any request", () => {
    const sha = sha256Text(manifest);
    assert.throws(() => checkAdapterSource("http://example.org/m.json", sha), AdapterStoreError);
    assert.throws(() => checkAdapterSource("file:///etc/passwd", sha), /only https/);
    assert.throws(() => checkAdapterSource("not a url", sha), /not a URL/);
    assert.throws(() => checkAdapterSource("https://example.org/m.json", "abc"), /sha256/);
    assert.equal(checkAdapterSource("https://example.org/a/manifest.json", sha).hostname, "example.org");
});

test("fetches the manifest and the adapter file next to it", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "composer-fetch-"));
    const seen: string[] = [];
    try {
        const fetched = await fetchAdapter("https://example.org/a/manifest.json", sha256Text(manifest), {
            scratchRoot: scratch,
            fetch: fakeFetch(
                {
                    "https://example.org/a/manifest.json": manifest,
                    "https://example.org/a/adapter.gguf": adapterBytes,
                },
                seen,
            ),
        });
        assert.deepEqual(seen, ["https://example.org/a/manifest.json", "https://example.org/a/adapter.gguf"]);
        assert.deepEqual(await readFile(join(fetched.dir, "adapter.gguf")), adapterBytes);
        await fetched.cleanup();
        assert.deepEqual(await readdir(join(scratch, ".adapter-downloads")), []);
    } finally {
        await rm(scratch, {recursive: true, force: true});
    }
});

test("a manifest whose sha256 differs is refused and nothing is left behind", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "composer-fetch-"));
    try {
        await assert.rejects(
            fetchAdapter("https://example.org/a/manifest.json", "0".repeat(64), {
                scratchRoot: scratch,
                fetch: fakeFetch({"https://example.org/a/manifest.json": manifest}),
            }),
            /sha256 is [0-9a-f]{64}, expected 0{64}/,
        );
        assert.deepEqual(await readdir(join(scratch, ".adapter-downloads")), []);
    } finally {
        await rm(scratch, {recursive: true, force: true});
    }
});

test("a manifest naming a file elsewhere is refused", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "composer-fetch-"));
    const evil = Buffer.from(JSON.stringify({id: "x", file: "../../evil.gguf"}));
    try {
        await assert.rejects(
            fetchAdapter("https://example.org/a/manifest.json", sha256Text(evil), {
                scratchRoot: scratch,
                fetch: fakeFetch({"https://example.org/a/manifest.json": evil}),
            }),
            /plain file name/,
        );
    } finally {
        await rm(scratch, {recursive: true, force: true});
    }
});

test('a network error says why, not just "fetch failed"', async () => {
    const scratch = await mkdtemp(join(tmpdir(), "composer-fetch-"));
    const failing = (async () => {
        throw Object.assign(new TypeError("fetch failed"), {cause: new Error("self-signed certificate")});
    }) as typeof fetch;
    try {
        await assert.rejects(
            fetchAdapter("https://example.org/a/manifest.json", sha256Text(manifest), {
                scratchRoot: scratch,
                fetch: failing,
            }),
            /fetch failed \(self-signed certificate\)/,
        );
    } finally {
        await rm(scratch, {recursive: true, force: true});
    }
});

test("the manifest is streamed with its 1 MB limit: a huge or endless body is cut off, not buffered", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "composer-fetch-"));
    let pulled = 0;
    let cancelled = false;
    // 64 KiB chunks forever, with no content-length: only reading can find out the size.
    const endless = (async () =>
        new Response(
            new ReadableStream<Uint8Array>({
                pull(controller) {
                    pulled += 1 << 16;
                    controller.enqueue(new Uint8Array(1 << 16).fill(0x20));
                },
                cancel() {
                    cancelled = true;
                },
            }),
        )) as typeof fetch;
    const declared = (async () =>
        new Response("{}", {headers: {"content-length": String(600 * 1024 * 1024)}})) as typeof fetch;
    try {
        await assert.rejects(
            fetchAdapter("https://example.org/a/manifest.json", sha256Text(manifest), {
                scratchRoot: scratch,
                fetch: endless,
            }),
            {code: "bad-source", message: /the manifest is larger than 1048576 bytes/},
        );
        assert.ok(cancelled, "the download is cancelled");
        assert.ok(pulled <= (1 << 20) + 3 * (1 << 16), `read ${pulled} bytes for a 1 MB limit`);
        await assert.rejects(
            fetchAdapter("https://example.org/a/manifest.json", sha256Text(manifest), {
                scratchRoot: scratch,
                fetch: declared,
            }),
            {message: /the manifest is larger than 1048576 bytes/},
        );
        assert.deepEqual(await readdir(join(scratch, ".adapter-downloads")), []);
    } finally {
        await rm(scratch, {recursive: true, force: true});
    }
});

test("a manifest with a UTF-8 byte order mark is read; folders of interrupted downloads are removed", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "composer-fetch-"));
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), manifest]);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const abandoned = join(scratch, ".adapter-downloads", `${dead}-0a1b2c3d`);
    await mkdir(abandoned, {recursive: true});
    await mkdir(join(scratch, ".adapter-downloads", "0123456789ab"), {recursive: true}); // an earlier version's
    try {
        const fetched = await fetchAdapter("https://example.org/a/manifest.json", sha256Text(withBom), {
            scratchRoot: scratch,
            fetch: fakeFetch({
                "https://example.org/a/manifest.json": withBom,
                "https://example.org/a/adapter.gguf": adapterBytes,
            }),
        });
        assert.deepEqual(await readFile(join(fetched.dir, "manifest.json")), withBom, "kept byte for byte");
        assert.deepEqual(await readdir(join(scratch, ".adapter-downloads")), [basename(fetched.dir)]);
        await fetched.cleanup();
    } finally {
        await rm(scratch, {recursive: true, force: true});
    }
});
