// Writing systems an output may use (engine/compose/scripts.ts): the script guard and the benchmark's judge.

import assert from "node:assert/strict";
import {test} from "node:test";
import {firstForeignLetter, foreignLetters, wordStart} from "../../engine/compose/scripts";

test("a letter of a script the input does not use is foreign; Latin never is", () => {
    const input = "The meeting moved to Thursday, café included.";
    assert.equal(firstForeignLetter("La réunion est jeudi, café compris. Ça va ? Größe, año.", input), null);
    assert.deepEqual(firstForeignLetter("La réunion. Результат", input), {index: 12, script: "Cyrillic"});
    assert.deepEqual(firstForeignLetter("Jeudi 会议", input), {index: 6, script: "Han"});
    assert.deepEqual(firstForeignLetter("Donnerstag: Συνάντηση", input), {index: 12, script: "Greek"});
});

test("the input's own scripts are allowed, and digits and punctuation are no script's letters", () => {
    assert.equal(firstForeignLetter("Merci à Ирина.", "Thanks to Ирина."), null);
    assert.deepEqual(firstForeignLetter("Merci à Ирина. 会议", "Thanks to Ирина."), {index: 15, script: "Han"});
    assert.equal(firstForeignLetter("12:30 — « ok » € ½ №", "ok"), null);
    assert.notEqual(foreignLetters("plain English"), null);
});

test("wordStart: where the word holding an index begins", () => {
    const text = "Le comité. Казінобогійна сторона";
    assert.equal(wordStart(text, text.indexOf("з")), text.indexOf("К"));
    assert.equal(wordStart("Результат", 0), 0);
    assert.equal(wordStart("ab cd", 4), 3);
});
