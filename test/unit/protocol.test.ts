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
