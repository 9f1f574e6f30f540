// Which of the pack's languages a text is in (engine/compose/language.ts): what the composer uses to
// catch a translating composite's English answer.

import assert from "node:assert/strict";
import {test} from "node:test";
import {writtenIn} from "../../engine/compose/language";

test("a paragraph is identified by its common words in each of the pack's languages", () => {
    const cases: [string, string][] = [
        [
            "en",
            "The council voted on Tuesday to close the bridge, and drivers will have to use the ring road for months.",
        ],
        [
            "fr",
            "Le conseil a voté mardi la fermeture du pont, et les automobilistes devront prendre la rocade pendant des mois.",
        ],
        [
            "es",
            "El consejo votó el martes el cierre del puente, y los conductores tendrán que usar la ronda durante meses.",
        ],
        [
            "de",
            "Der Rat hat am Dienstag die Schließung der Brücke beschlossen, und die Autofahrer müssen monatelang die Umgehung nehmen.",
        ],
    ];
    for (const [language, text] of cases) assert.equal(writtenIn(text), language, text);
});

test("the English answers of the translating composites are English (real-text runs, 2026-12-05)", () => {
    // summarize+translate:fr and :de on a first-person list post, as the next pack wrote them
    assert.equal(
        writtenIn(
            "I adore the posts of Thomas, Erik, and Milos in the thread. John and Molly are both very kind and I love the posts of Thomas and Erik.",
        ),
        "en",
    );
    assert.equal(
        writtenIn(
            "I love the posts of Thomas, Erik, and Milos in the past day. I also love the posts from John and Molly.",
        ),
        "en",
    );
});

test("too few common words, or two languages as much as each other, tell nothing", () => {
    assert.equal(writtenIn("Merci, Chris !"), null);
    assert.equal(writtenIn("Field Day 2026"), null);
    assert.equal(
        writtenIn("Le rapport de the committee: the date and the place of la réunion pour les membres."),
        null,
    );
    assert.equal(writtenIn(""), null);
});
