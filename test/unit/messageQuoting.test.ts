// Values quoted in messages are escaped and capped, so a corrupt file or a hostile name can
// neither flood a terminal nor make a message display as something else.

import assert from "node:assert/strict";
import {test} from "node:test";
import {distinctPrefixes, firstUnsafeCharacter, messageForUser, quote, show} from "../../engine/messages/quote";

test("quote escapes quotes, backslashes, controls, bidi characters and lone surrogates", () => {
    assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(
        quote("nul\u0000 line\n tab\t del\u007f c1\u0085"),
        '"nul\\u0000 line\\u000a tab\\u0009 del\\u007f c1\\u0085"',
    );
    assert.equal(quote("evil\u202egpj.exe \u2066x\u2069 \u200f"), '"evil\\u202egpj.exe \\u2066x\\u2069 \\u200f"');
    assert.equal(quote("lone \ud800 and \udc00"), '"lone \\ud800 and \\udc00"');
    assert.equal(quote("emoji 😀 and é stay"), '"emoji 😀 and é stay"');
});

test("quote caps long values and says how long they were, never splitting a surrogate pair", () => {
    const huge = "\u0000".repeat(3_700_000);
    const quoted = quote(huge);
    assert.ok(quoted.length < 600, `${quoted.length}`);
    assert.match(quoted, /…" \(3700000 characters\)$/);
    const emoji = `${"x".repeat(79)}😀`;
    assert.equal(quote(emoji), `"${"x".repeat(79)}…" (81 characters)`);
    assert.equal(show({a: "\u202e".repeat(3)}), '{"a":"\\u202e\\u202e\\u202e"}');
    assert.equal(show(undefined), "nothing");
});

test("messageForUser keeps line breaks, escapes the rest and caps the length", () => {
    assert.equal(messageForUser("two\nlines\tand \u0000 \u202e"), "two\nlines\tand \\u0000 \\u202e");
    const long = messageForUser("y".repeat(5000));
    assert.match(long, /^y{2000}… \(3000 more characters not shown\)$/);
});

test("distinctPrefixes shows enough of two hashes to tell them apart", () => {
    const a = `e1ca81aad5d9${"0".repeat(52)}`;
    const b = `e1ca81aad5d9${"0".repeat(30)}1${"0".repeat(21)}`;
    const [shownA, shownB] = distinctPrefixes(a, b);
    assert.notEqual(shownA, shownB);
    assert.equal(shownA, `${a.slice(0, 46)}…`);
    assert.deepEqual(distinctPrefixes("ab".repeat(32), "cd".repeat(32)), ["abababababab…", "cdcdcdcdcdcd…"]);
});

test("firstUnsafeCharacter names the character and where it is", () => {
    assert.equal(firstUnsafeCharacter("fine name ✓"), null);
    assert.deepEqual(firstUnsafeCharacter("ab\ncd"), {index: 2, codePoint: "U+000A", kind: "control"});
    assert.deepEqual(firstUnsafeCharacter("x\u202ey"), {index: 1, codePoint: "U+202E", kind: "bidi"});
    assert.deepEqual(firstUnsafeCharacter("\ud83d"), {index: 0, codePoint: "U+D83D", kind: "lone surrogate"});
});
