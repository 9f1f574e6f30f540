// A reply's sign-off (engine/compose/signOff.ts): the user signs, so a name the model put under
// the closing goes, unless the email was addressed to that name.

import assert from "node:assert/strict";
import {test} from "node:test";
import {withoutBorrowedSignature} from "../../engine/compose/signOff";

const EMAIL = "Hi all,\n\nI'd like to start a removal of an inactive maintainer for NicoHood.\n\nCheers,\nchris";

test("a name under the closing is left out; the closing stays", () => {
    const reply = "Hi Chris,\n\nThank you for the details. I support the removal.\n\nCheers,\nNico";
    assert.equal(
        withoutBorrowedSignature(reply, EMAIL),
        "Hi Chris,\n\nThank you for the details. I support the removal.\n\nCheers,",
    );
    const spaced = "Dear Lise,\n\nI will add the findings next weekend.\n\nBest regards,\n\nJørgen Nielsen\n";
    assert.equal(
        withoutBorrowedSignature(spaced, EMAIL),
        "Dear Lise,\n\nI will add the findings next weekend.\n\nBest regards,",
    );
    assert.equal(
        withoutBorrowedSignature("Merci pour les détails.\n\nCordialement,\nNico", EMAIL),
        "Merci pour les détails.\n\nCordialement,",
    );
});

test("a reply signed with the email's own signature loses it, closing or not", () => {
    const johns = "Wouldn't you give up a weekend for such madness?\n\nJohn";
    assert.equal(
        withoutBorrowedSignature("I'd love to. It would be a lot of fun.\n\nJohn", johns),
        "I'd love to. It would be a lot of fun.",
    );
    assert.equal(
        withoutBorrowedSignature("John", johns),
        "John",
        "a reply that is only a name is left to the other checks",
    );
});

test("a reply ending with a name, a dashed name or a placeholder after its last sentence loses it", () => {
    const cases: [string, string][] = [
        ["I look forward to hearing from you soon. Tim", "I look forward to hearing from you soon."],
        ["Thanks for the report.\nMichael Duke, K5XU", "Thanks for the report."],
        ["If you have questions, ask me.\n\nGood luck,\n-Chris", "If you have questions, ask me.\n\nGood luck,"],
        ["I am open to hearing your thoughts.\n\n- ajax", "I am open to hearing your thoughts."],
        ["I will follow up soon.\n\nSincerely,\n[email address]", "I will follow up soon.\n\nSincerely,"],
        ["We met on Monday.\nSee you then.\nJohn", "We met on Monday.\nSee you then."],
    ];
    for (const [reply, unsigned] of cases) assert.equal(withoutBorrowedSignature(reply, EMAIL), unsigned);
});

test("the email's own reader signs as themselves; a reply ending in words, a closing or a list item is as it was", () => {
    const toMaloy = "Hi Maloy,\n\nDid you see the code I sent yesterday?\n\nThanks,\nCarl";
    const signed = "Hi Carl,\n\nYes, I ran the unit tests and they pass.\n\nThanks,\nMaloy";
    assert.equal(withoutBorrowedSignature(signed, toMaloy), signed);
    for (const reply of [
        "I'd love to. I'm sure it would be a lot of fun.",
        "Thanks for the report.\n\nBest regards,",
        "Best regards,\nThe meeting is on Monday at noon.",
        "I'll see you there.\n\nThanks Barry",
        "Thank you, Sarah.",
        "I look forward to hearing from you, Tim Berners-Lee!",
        "I agree.\nCheers",
        "We need to:\n- Fix the build",
        "Let's meet on Monday",
        "The office is in the U.S",
    ])
        assert.equal(withoutBorrowedSignature(reply, EMAIL), reply);
});
