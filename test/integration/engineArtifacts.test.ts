// Adapters installed, verified and removed through the engine process, as the extension does it:
// the real default model open in dist/engine-host.js, the bundled pack's real summarize adapter
// as the file to install, and an https server on 127.0.0.1 (a throwaway certificate the engine
// process trusts through NODE_EXTRA_CA_CERTS) for installs from a URL. The caller only sends
// requests; every check happens in the engine process and comes back with its code.

import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import {createHash} from "node:crypto";
import {cp, mkdtemp, open, readdir, readFile, rm} from "node:fs/promises";
import {createServer, type Server} from "node:https";
import type {AddressInfo} from "node:net";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, test} from "node:test";
import {engineConfig, hostScriptPath, packIn} from "../../engine/config";
import {EngineClient} from "../../engine/isolation/engineClient";
import {realModelPath, repoRoot} from "../support/realModel";

const ADAPTER_ID = "gemma3-270m.summarize";
const bundledAdapter = () => join(repoRoot(), "adapters", ADAPTER_ID);
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** The engine's error with its code, for assert.rejects. */
function refusedWith(code: string, message: RegExp) {
    return (error: unknown) => {
        assert.equal((error as {code?: string}).code, code, String(error));
        assert.match((error as Error).message, message);
        return true;
    };
}

describe("adapters through the engine process", () => {
    let work: string;
    let client: EngineClient;
    const engineLog: string[] = [];
    let server: Server;
    let baseUrl: string;
    let manifestBytes: Buffer;
    /** Set by the stalled route once its response has started. */
    let stalledResponses = 0;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "composer-artifacts-"));
        const keyFile = join(work, "key.pem");
        const certFile = join(work, "cert.pem");
        execFileSync(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                keyFile,
                "-out",
                certFile,
                "-days",
                "1",
            ].concat(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]),
            {stdio: "ignore", timeout: 60_000},
        );
        manifestBytes = await readFile(join(bundledAdapter(), "manifest.json"));
        const adapterBytes = await readFile(join(bundledAdapter(), "adapter.gguf"));
        // /pack/...: the adapter as published; /stalled/...: its file never finishes arriving.
        server = createServer({key: await readFile(keyFile), cert: await readFile(certFile)}, (req, res) => {
            const [, route, name] = (req.url ?? "").split("/");
            if (name === "manifest.json") {
                res.writeHead(200, {"content-length": manifestBytes.length}).end(manifestBytes);
                return;
            }
            if (name !== "adapter.gguf") {
                res.writeHead(404).end();
                return;
            }
            if (route === "stalled") {
                stalledResponses++;
                res.writeHead(200, {"content-length": adapterBytes.length});
                res.write(adapterBytes.subarray(0, 65536));
                return;
            }
            res.writeHead(200, {"content-length": adapterBytes.length}).end(adapterBytes);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
        // The engine process inherits this environment when it is started (on the first request).
        process.env.NODE_EXTRA_CA_CERTS = certFile;
        client = new EngineClient({
            hostScript: hostScriptPath(repoRoot()),
            config: engineConfig(await realModelPath(), packIn(work), {threads: 1, contextSize: 256, maxContexts: 1}),
            onLog: (level, message) => engineLog.push(`${level}: ${message}`),
        });
    });

    after(async () => {
        await client?.dispose();
        server?.closeAllConnections();
        server?.close();
        if (work) await rm(work, {recursive: true, force: true});
    });

    const userAdapters = () => readdir(join(work, "user-adapters")).catch(() => [] as string[]);

    test("install from a folder, verify and remove: each answered by the engine, which uses the result at once", async () => {
        assert.equal((await client.status()).adapters, 0, "the pack in the work folder starts empty");
        const summarizeMethod = async () => (await client.capabilities()).find((c) => c.chain === "summarize")?.method;
        assert.equal(await summarizeMethod(), "zero-shot");
        const {adapter, status} = await client.installAdapter({kind: "folder", path: bundledAdapter()});
        assert.deepEqual(
            {id: adapter.id, task: adapter.task, valid: adapter.valid, bundled: adapter.bundled},
            {id: ADAPTER_ID, task: "summarize", valid: true, bundled: false},
        );
        assert.equal(adapter.sha256, sha256(await readFile(join(bundledAdapter(), "adapter.gguf"))));
        assert.equal(status.adapters, 1, "the engine re-read what is installed");
        assert.equal(await summarizeMethod(), "main-lora", "the recipe uses the new adapter");

        const listed = await client.listAdapters();
        assert.deepEqual(
            listed.map((row) => [row.id, row.valid, row.bundled, row.dir]),
            [[ADAPTER_ID, true, false, join(work, "user-adapters", ADAPTER_ID)]],
        );
        assert.equal((await client.verifyAdapter(ADAPTER_ID)).sha256, adapter.sha256);

        await assert.rejects(
            client.installAdapter({kind: "folder", path: bundledAdapter()}),
            refusedWith("already-exists", /already installed/),
        );
        assert.equal((await client.removeAdapter(ADAPTER_ID)).adapters, 0);
        assert.deepEqual(await client.listAdapters(), []);
        await assert.rejects(client.verifyAdapter(ADAPTER_ID), refusedWith("not-found", /No adapter/));
    });

    test("a corrupt adapter is refused with the validator's code, the log says why, and nothing is installed", async () => {
        const copy = join(work, "corrupt", ADAPTER_ID);
        await cp(bundledAdapter(), copy, {recursive: true});
        const file = await open(join(copy, "adapter.gguf"), "r+");
        await file.write(Buffer.from([0xff]), 0, 1, 4096);
        await file.close();
        engineLog.length = 0;
        await assert.rejects(
            client.installAdapter({kind: "folder", path: copy}),
            refusedWith("sha256-mismatch", /sha256/),
        );
        const [asked, refused, ...more] = engineLog.filter((line) => line.includes(copy));
        assert.equal(asked, `info: Installing the adapter from ${copy}`);
        assert.match(refused ?? "", /^warn: The adapter from .* was not installed: .*sha256 is [0-9a-f]{64} but/);
        assert.deepEqual(more, []);
        assert.deepEqual(await userAdapters(), []);
        assert.equal((await client.status()).adapters, 0);
    });

    test("install from a URL: https and the manifest's sha256 are checked in the engine, then it installs", async () => {
        const url = `${baseUrl}/pack/manifest.json`;
        const good = sha256(manifestBytes);
        await assert.rejects(
            client.installAdapter({kind: "url", url: url.replace("https:", "http:"), sha256: good}),
            refusedWith("bad-source", /only https/),
        );
        await assert.rejects(
            client.installAdapter({kind: "url", url, sha256: "0".repeat(64)}),
            refusedWith("bad-source", /sha256 is [0-9a-f]{64}, expected 0{64}; nothing was installed/),
        );
        assert.deepEqual(await userAdapters(), []);

        const {adapter, status} = await client.installAdapter({kind: "url", url, sha256: good});
        assert.equal(adapter.id, ADAPTER_ID);
        assert.equal(status.adapters, 1);
        await client.removeAdapter(ADAPTER_ID);
    });

    test("a cancelled download ends with the engine's cancellation and leaves nothing behind", async () => {
        const controller = new AbortController();
        const request = client.installAdapter(
            {kind: "url", url: `${baseUrl}/stalled/manifest.json`, sha256: sha256(manifestBytes)},
            {signal: controller.signal},
        );
        while (stalledResponses === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        controller.abort();
        await assert.rejects(request, (error: unknown) => {
            assert.equal((error as Error).name, "RequestCancelledError", String(error));
            assert.equal((error as {code?: string}).code, "cancelled");
            return true;
        });
        assert.deepEqual(await userAdapters(), []);
        assert.deepEqual(await readdir(join(work, "expanded", ".adapter-downloads")), [], "the scratch folder is gone");
        assert.equal((await client.status()).adapters, 0, "the same engine goes on");
    });
});
