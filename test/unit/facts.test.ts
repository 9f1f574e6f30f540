import assert from "node:assert/strict";
import {test} from "node:test";
import {lostFact, namesIn} from "../../engine/compose/facts";

test("names are capitalized words inside a sentence, a line or a quote, never 'I'", () => {
    assert.deepEqual(
        [...namesIn('Hi Maloy,\nDid you run it in Eclipse? I think "Tests pass" on AD reviews, I\'m sure.')],
        ["maloy", "eclipse", "ad"],
    );
    assert.deepEqual([...namesIn("Kai: Is this seat taken?\nInes: No. Please sit down.")], []);
});

test("a rewrite that keeps the numbers, names and nots keeps the facts, whatever its wording", () => {
    const source = "Did you run the unit tests in Eclipse? The build from March 3 does not work for me.";
    assert.equal(
        lostFact(source, "Hey, did you run the unit tests in eclipse? The March 3 build doesn't work for me."),
        null,
    );
    assert.equal(lostFact(source, source.replace("in Eclipse", "in your editor")), 'the name "eclipse" is gone');
    assert.equal(lostFact(source, source.replace("March 3", "March")), "the number 3 is gone");
    // Real-text dialogue dev_12, tone:casual on 2026-12-07: a question answered with a made-up age.
    assert.equal(lostFact("He's small and short.", "He's 18 and short."), "the number 18 is new");
    assert.equal(lostFact(source, source.replace("does not work", "works")), "0 negations where the input has 1");
    assert.equal(
        lostFact("Guests who want to stay pay a deposit.", "Guests who don't want to stay pay a deposit."),
        "1 negations where the input has 0",
    );
    const darcy =
        "I just wanted to clarify that point -- I don't doubt Darcy's report at all, nor do I doubt Javier's report.";
    assert.equal(
        lostFact(
            darcy,
            "I just wanted to clarify the point that Darcy's report was not accurate, and I doubt Javier's.",
        ),
        "1 negations where the input has 2",
    );
    assert.equal(
        lostFact(darcy, "To be clear: I don't doubt Darcy's report at all, and I don't doubt Javier's either."),
        null,
    );
    assert.equal(lostFact("There is no problem with it.", "It's fine."), "0 negations where the input has 1");
});

test("a rewrite that drops a condition states as certain what was not", () => {
    const source = "However, if there is something we should discuss I will set up the meeting.";
    // Real-emails email-21, tone:professional on 2026-12-06.
    assert.equal(lostFact(source, "I will be setting up the meeting."), "0 conditions where the input has 1");
    assert.equal(lostFact(source, "But if we need to talk about anything, I'll set up the meeting."), null);
    assert.equal(
        lostFact(
            "Feelings weren't allowed in mine either unless they were anger.",
            "Feelings weren't allowed in mine either.",
        ),
        "0 conditions where the input has 1",
    );
    // An "if" that asks or is a courtesy is not a condition: the rewrite may turn it into a question.
    assert.equal(lostFact("Let me know if it works.", "Does it work?"), null);
    assert.equal(lostFact("I'd be grateful if you could confirm the date.", "Could you confirm the date?"), null);
    assert.equal(lostFact("Let me know when we get to the stop.", "Tell me if we get to the stop."), null);
});

test("a rewrite that drops a hedge states as certain what was not", () => {
    // Real-text runs of 2026-12-07 (tone:paraphrase, tone:casual).
    assert.equal(
        lostFact("My (and Sam's, I believe) inclination is to meet.", "My (and Sam's) inclination is to meet."),
        "0 hedges where the input has 1",
    );
    assert.equal(
        lostFact("They run partly on company time.", "They run mostly on company time."),
        "0 hedges where the input has 1",
    );
    assert.equal(
        lostFact("I guess you’ve got to teach me.", "I'm sure you've got to teach me."),
        "0 hedges where the input has 1",
    );
    assert.equal(lostFact("Maybe I can take the bus.", "Perhaps I could take the bus."), null);
    assert.equal(lostFact("It works.", "It probably works."), null, "a hedge added is the tone's");
});

test("a rewrite that answers a question instead of asking it loses it; a request may be asked as one", () => {
    // Real-text dialogues, tone:casual and tone:professional on 2026-12-07.
    assert.equal(lostFact("Really?", "Sure."), "0 questions where the input asks 1");
    assert.equal(
        lostFact("Ok, great, should I bring anything?", "Ok, sure, bring some snacks."),
        "0 questions where the input asks 1",
    );
    assert.equal(
        lostFact("He's small. How old is Jacky Chan? I bet he's 60.", "He's tiny. Jacky Chan is 60, I bet."),
        "0 questions where the input asks 1",
    );
    assert.equal(lostFact("Was it that crowded?", "Was it really that packed?"), null);
    // A request, an offer or a suggestion may lose its question mark.
    assert.equal(lostFact("Could you send me the report?", "Please send me the report."), null);
    assert.equal(lostFact("So, may I see your license?", "Please show me your license."), null);
    assert.equal(lostFact("How about a party in September?", "Let's throw a party in September."), null);
    assert.equal(lostFact("Would you mind closing the door?", "Close the door, please."), null);
    assert.equal(lostFact("Can you tell me why it failed, please?", "Tell me why it failed."), null);
    // A link's query is not a question.
    assert.equal(
        lostFact("See https://example.org/a?id=3 for it.", "Have a look at https://example.org/a?id=3."),
        null,
    );
});

test("a rewrite that drops a quotation's marks makes someone's words the writer's", () => {
    // Real-text news, tone:professional on 2026-12-07.
    const quoted = '"Today the situation on the ground is more stable," he said.';
    assert.equal(
        lostFact(quoted, "Today, the situation on the ground is more stable."),
        "a quotation lost its quotation marks",
    );
    assert.equal(lostFact(quoted, '"Today the situation on the ground is steadier," he stated.'), null);
});

test("a rewrite about someone its input is not about changes a fact", () => {
    // Real-text runs of 2026-12-07 (tone:professional, tone:witty).
    assert.equal(
        lostFact("Hana: Okay.", "Hana: I'm pleased to report that the data has been analyzed."),
        'about "i", whom the input is not about',
    );
    assert.equal(
        lostFact("Yan: Yeah.", "Yan: Yeah, you're a bit of a goof."),
        'about "you", whom the input is not about',
    );
    assert.equal(
        lostFact("I really enjoyed reading Molly's post.", "I'm so glad you're enjoying Molly's post!"),
        'about "you", whom the input is not about',
    );
    assert.equal(
        lostFact("I know you have been trying very hard.", "I'm aware you've been working really hard."),
        null,
    );
    // Leaving someone out is not seen: a request may lose its "me".
    assert.equal(lostFact("Let me know if it works.", "Does it work?"), null);
});
