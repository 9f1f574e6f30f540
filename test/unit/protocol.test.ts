import assert from "node:assert/strict";
import {test} from "node:test";
import {ProtocolError, parseHostReply, parseHostRequest, serializeError} from "../../engine/isolation/protocol";

test("a compose request is parsed into a typed value", () => {
    assert.deepEqual(
        parseHostRequest({
            id: 3,
            kind: "compose",
            chain: "reply+tone:casual",
            method: "lc++",
            input: "hi",
            maxTokens: 64,
        }),
        {id: 3, kind: "compose", chain: "reply+tone:casual", method: "lc++", input: "hi", maxTokens: 64},
    );
});

test("a request for the preparation's report needs nothing but its id", () => {
    assert.deepEqual(parseHostRequest({id: 4, kind: "preparation"}), {id: 4, kind: "preparation"});
});

test("malformed requests are refused with the field at fault", () => {
    assert.throws(() => parseHostRequest(null), ProtocolError);
    assert.throws(() => parseHostRequest({id: "1", kind: "status"}), /"id" must be an integer/);
    assert.throws(() => parseHostRequest({id: 1, kind: "explode"}), /Unknown request kind "explode"/);
    assert.throws(
        () => parseHostRequest({id: 1, kind: "compose", chain: "reply", method: "best", input: ""}),
        /Unknown method "best"/,
    );
    assert.throws(
        () => parseHostRequest({id: 1, kind: "compose", chain: "reply", method: "auto", input: 5}),
        /"input" must be a string/,
    );
    assert.throws(
        () => parseHostRequest({id: 1, kind: "compose", chain: "reply", method: "auto", input: "", maxTokens: 0}),
        /maxTokens/,
    );
});

test("replies keep an error's name, message and code across the process boundary", () => {
    const error = Object.assign(new Error("bad adapter"), {name: "AdapterValidationError", code: "shape-mismatch"});
    const reply = parseHostReply({id: 9, kind: "failed", error: serializeError(error)});
    assert.deepEqual(reply, {
        id: 9,
        kind: "failed",
        error: {name: "AdapterValidationError", message: "bad adapter", code: "shape-mismatch"},
    });
    assert.throws(() => parseHostReply({id: 9, kind: "text", text: 1, pass: 0}), /"text" must be a string/);
});

test("prompt progress replies carry how much of a long input has been read", () => {
    assert.deepEqual(parseHostReply({id: 4, kind: "prompt", evaluated: 512, total: 1300, pass: 0}), {
        kind: "prompt",
        id: 4,
        evaluated: 512,
        total: 1300,
        pass: 0,
    });
    assert.throws(() => parseHostReply({id: 4, kind: "prompt", evaluated: "512", total: 1300, pass: 0}), /evaluated/);
});

test("adapter requests are parsed into typed values", () => {
    assert.deepEqual(
        parseHostRequest({id: 5, kind: "adapters.install", source: {kind: "folder", path: "/a/b"}, replace: false}),
        {id: 5, kind: "adapters.install", source: {kind: "folder", path: "/a/b"}, replace: false},
    );
    const url = {kind: "url", url: "https://example.org/m/manifest.json", sha256: "ab".repeat(32)};
    assert.deepEqual(parseHostRequest({id: 6, kind: "adapters.install", source: url, replace: true}), {
        id: 6,
        kind: "adapters.install",
        source: url,
        replace: true,
    });
    assert.deepEqual(parseHostRequest({id: 7, kind: "adapters.remove", adapterId: "x.reply"}), {
        id: 7,
        kind: "adapters.remove",
        adapterId: "x.reply",
    });
    assert.deepEqual(parseHostRequest({id: 8, kind: "adapters.list", extra: 1}), {id: 8, kind: "adapters.list"});
});

test("malformed adapter requests are refused with the field at fault", () => {
    const install = (fields: object) => () => parseHostRequest({id: 1, kind: "adapters.install", ...fields});
    assert.throws(install({replace: false}), /"source" must be an object/);
    assert.throws(
        install({source: {kind: "zip", path: "/a"}, replace: false}),
        /"kind" must be one of folder, url, got "zip"/,
    );
    assert.throws(install({source: {kind: "folder"}, replace: false}), /"path" must be a string, got undefined/);
    assert.throws(
        install({source: {kind: "url", url: "https://x/manifest.json"}, replace: false}),
        /"sha256" must be a string/,
    );
    assert.throws(install({source: {kind: "folder", path: "/a"}}), /"replace" must be a boolean, got undefined/);
    assert.throws(
        () => parseHostRequest({id: 1, kind: "adapters.verify", adapterId: 3}),
        /"adapterId" must be a string/,
    );
    assert.throws(() => parseHostRequest({id: 1, kind: "adapters.remove"}), ProtocolError);
});

test("a model fetch request carries the typed base model setting and where models go", () => {
    for (const model of [
        {kind: "default"},
        {kind: "known", id: "gemma-3-270m-q4_k_m.q8_0"},
        {kind: "file", path: "/models/m.gguf"},
        {kind: "uri", uri: "hf:org/repo/m.gguf"},
        {kind: "uri", uri: "https://example.org/m.gguf", sha256: "0".repeat(64)},
    ])
        assert.deepEqual(parseHostRequest({id: 2, kind: "model.fetch", model, modelsDir: "/models"}), {
            id: 2,
            kind: "model.fetch",
            model,
            modelsDir: "/models",
        });
    const fetch = (fields: object) => () => parseHostRequest({id: 2, kind: "model.fetch", ...fields});
    assert.throws(fetch({model: "default", modelsDir: "/m"}), /"model" must be an object/);
    assert.throws(
        fetch({model: {kind: "ftp"}, modelsDir: "/m"}),
        /"kind" must be one of default, known, file, uri, got "ftp"/,
    );
    assert.throws(fetch({model: {kind: "known"}, modelsDir: "/m"}), /"id" must be a string/);
    assert.throws(fetch({model: {kind: "uri"}, modelsDir: "/m"}), /"uri" must be a string/);
    assert.throws(
        fetch({model: {kind: "uri", uri: "hf:a/b", sha256: 5}, modelsDir: "/m"}),
        /"sha256" must be a string when given/,
    );
    assert.throws(fetch({model: {kind: "default"}}), /"modelsDir" must be a string/);
});

test("model fetch progress replies are typed: a step, a unit, done of total", () => {
    assert.deepEqual(
        parseHostReply({id: 3, kind: "progress", step: "download", unit: "bytes", done: 1024, total: 4096}),
        {kind: "progress", id: 3, step: "download", unit: "bytes", done: 1024, total: 4096},
    );
    assert.throws(
        () => parseHostReply({id: 3, kind: "progress", step: "unzip", unit: "parts", done: 0, total: 4}),
        /"step" must be one of download, assemble, verify, derive, got "unzip"/,
    );
    assert.deepEqual(parseHostReply({id: 3, kind: "progress", step: "derive", unit: "parts", done: 1, total: 1}), {
        kind: "progress",
        id: 3,
        step: "derive",
        unit: "parts",
        done: 1,
        total: 1,
    });
    assert.throws(
        () => parseHostReply({id: 3, kind: "progress", step: "verify", unit: "files", done: 0, total: 1}),
        /"unit" must be one of bytes, parts/,
    );
    assert.throws(
        () => parseHostReply({id: 3, kind: "progress", step: "verify", unit: "parts", done: 0.5, total: 1}),
        /"done" must be an integer/,
    );
});
