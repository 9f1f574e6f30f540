// Which texts a reply answers as an email (engine/compose/replyOpening.ts): those begin with the
// email opening; chat lines, greetings alone, customer messages and transcripts do not.

import assert from "node:assert/strict";
import {test} from "node:test";
import {isEmail} from "../../engine/compose/replyOpening";

test("emails: a greeting line, paragraphs, or a long single paragraph", () => {
    assert.ok(isEmail("Hi Maloy,\nA snippet of code was provided yesterday. Did you see this code?\nThanks,\nCarl"));
    assert.ok(isEmail("Hm\n\nHow about we have a coordinated mapping party weekend across the US?\n\nSteve"));
    assert.ok(
        isEmail(
            "Reviewer: Sarah Banks\nReview result: Ready\n\nI have reviewed this document as part of the directorate's review.",
        ),
    );
    const paragraph =
        "tim has requested that the next plenary meeting be held on 12/4 since the regularly scheduled TC meeting is set for thanksgiving. personally, i think this a good idea however we will need to get the TC to vote on it to make it official, at least that is my interpretation, so someone please correct me if that is wrong.";
    assert.ok(paragraph.split(" ").length >= 50);
    assert.ok(isEmail(paragraph));
});

test("not emails: chat lines, a greeting alone, a short message, a transcript", () => {
    assert.ok(!isEmail("Hi there!"));
    assert.ok(!isEmail("I love the GTA series too! I'm more of a role-playing game person, but I still love GTA."));
    assert.ok(!isEmail("  \n  "));
    assert.ok(
        !isEmail(
            "Well feelings obviously weren't allowed in your family and just like they really weren't allowed in mine either unless they were anger.",
        ),
    );
    assert.ok(
        !isEmail(
            "Kai: Is this seat taken?\n\nInes: No. Please sit down.\n\nKai: Thanks.\n\nInes: Are you also going to Beijing?",
        ),
    );
});
