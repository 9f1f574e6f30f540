// Installing an adapter from a URL: https and the manifest's sha256 are required, the adapter
// file comes from next to the manifest, and a mismatch leaves nothing behind.

import assert from "node:assert/strict";
import {mkdtemp, readdir, readFile, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
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
