// Messages between the builder webview and the extension are validated both ways.

import assert from "node:assert/strict";
import {test} from "node:test";
import {MessageError, parseToHost, parseToWebview, savedActionNameProblem} from "../../extension/builder/messages";
import {readSettings} from "../../extension/settings";

test("valid requests from the webview pass through", () => {
    assert.deepEqual(parseToHost({type: "run", tasks: ["reply", "tone:casual"], method: "auto"}), {
        type: "run",
        tasks: ["reply", "tone:casual"],
        method: "auto",
    });
    assert.deepEqual(parseToHost({type: "save", name: "  Casual reply ", tasks: ["reply"], method: "lc++"}), {
        type: "save",
        name: "Casual reply",
        tasks: ["reply"],
        method: "lc++",
    });
    assert.deepEqual(parseToHost({type: "review", action: "accept"}), {type: "review", action: "accept"});
});

test("malformed or unsafe requests from the webview are refused", () => {
    for (const bad of [
        null,
        [],
        "run",
        {type: "exec", command: "rm"},
        {type: "run", tasks: [], method: "auto"},
        {type: "run", tasks: ["summarize", "summarize"], method: "auto"},
        {type: "run", tasks: ["tone:casual", "reply"], method: "auto"},
        {type: "run", tasks: ["summarize", "translate:fr", "translate:de"], method: "auto"},
        {type: "run", tasks: ["summarize", "__proto__"], method: "auto"},
        {type: "run", tasks: ["summarize"], method: "rm -rf"},
        {type: "save", name: "", tasks: ["reply"], method: "auto"},
        {type: "save", name: "x".repeat(81), tasks: ["reply"], method: "auto"},
        {type: "save", name: "nul\u0000", tasks: ["reply"], method: "auto"},
        {type: "save", name: "two\nlines", tasks: ["reply"], method: "auto"},
        {type: "save", name: "evil\u202egpj", tasks: ["reply"], method: "auto"},
        {type: "review", action: "delete"},
    ])
        assert.throws(() => parseToHost(bad), MessageError, JSON.stringify(bad));
});

test("messages to the webview are checked too", () => {
    const init = {
        type: "init",
        hasSelection: true,
        capabilities: [
            {
                chain: "reply+tone:casual",
                title: "t",
                method: "lc++",
                passes: 1,
                onePass: true,
                note: null,
                methods: ["lc++"],
            },
        ],
    };
    assert.deepEqual(parseToWebview(init), init);
    const [good] = init.capabilities;
    for (const bad of [
        {...good, chain: "tone:casual+reply"},
        {...good, chain: "translate:fr+tone:casual"},
        {...good, method: "magic"},
        {...good, methods: ["lc++", "rm"]},
        {...good, passes: 0},
        {...good, onePass: "yes"},
    ])
        assert.throws(() => parseToWebview({...init, capabilities: [bad]}), MessageError, JSON.stringify(bad));
    assert.deepEqual(parseToWebview({type: "text", text: "Salut"}), {type: "text", text: "Salut"});
    assert.throws(() => parseToWebview({type: "init", hasSelection: "yes", capabilities: []}), MessageError);
    assert.throws(() => parseToWebview({type: "text", text: 3}), MessageError);
    assert.throws(() => parseToWebview({type: "done", text: "x", method: "lc", note: 1}), MessageError);
    assert.throws(() => parseToWebview({type: "script"}), MessageError);
});

test("settings fall back to defaults on bad values and keep only absolute adapter folders", () => {
    const values: Record<string, unknown> = {
        baseModel: "  ",
        adapterDirectories: ["/opt/adapters", "relative/dir", 3],
        threads: -1,
        contextSize: 4096,
        contextMemoryMB: 8,
        maxTokens: 99999,
        outputMode: "insertBelow",
        defaultMethod: "magic",
    };
    assert.deepEqual(
        readSettings((key) => values[key]),
        {
            baseModel: "default",
            adapterDirectories: ["/opt/adapters"],
            threads: 0,
            contextSize: 4096,
            contextMemoryMB: 256,
            maxTokens: 0,
            outputMode: "insertBelow",
            defaultMethod: "auto",
        },
    );
});

test("saved action names refuse NUL, line breaks and bidi overrides, saying which character and where", () => {
    assert.equal(savedActionNameProblem("Casual reply (FR) ✓"), null);
    assert.match(
        savedActionNameProblem("a\u0000b") ?? "",
        /cannot contain control characters .*; found U\+0000 at position 2/,
    );
    assert.match(savedActionNameProblem("line\nbreak") ?? "", /found U\+000A at position 5/);
    for (const bidi of ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"])
        assert.match(savedActionNameProblem(`x${bidi}y`) ?? "", /bidirectional formatting characters/, bidi);
    assert.throws(() => parseToHost({type: "save", name: "evil\u202egpj", tasks: ["reply"], method: "auto"}), {
        name: "MessageError",
        message: /found U\+202E at position 5/,
    });
});
