import assert from "node:assert/strict";
import {test} from "node:test";
import {
    attributedWriter,
    newestMessage,
    signedBy,
    threadByWriter,
    threadMessages,
    writerTurn,
} from "../../engine/compose/mailParts";
import {joinSegments, splitForRewrite} from "../../engine/compose/segments";

const NEW = "Sounds good to me, I will bring the maps on Saturday.\n\nCheers,\nBen";
const QUOTED =
    "> Could someone bring the trail maps? I forgot mine at the office.\n>\n> We meet at 9 at the north gate.";
const THREAD = `${NEW}\n\nOn Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <alex@example.org> wrote:\n${QUOTED}\n`;

test("a reply reads the newest message, without the message it quotes and the line that introduces it", () => {
    assert.deepEqual(newestMessage(THREAD), {text: NEW, leftOut: true});
});

test("an attribution wrapped onto two lines, or in French, German or Spanish, goes with its quote", () => {
    const wrapped = `${NEW}\n\nOn Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <\nalex@example.org> wrote:\n\n${QUOTED}`;
    assert.equal(newestMessage(wrapped).text, NEW);
    for (const line of [
        "Le mar. 8 oct. 2019 à 10:12, Alex Moreno <alex@example.org> a écrit :",
        "Am Di., 8. Okt. 2019 um 10:12 Uhr schrieb Alex Moreno <alex@example.org>:",
        "El mar, 8 oct 2019 a las 10:12, Alex Moreno (<alex@example.org>) escribió:",
    ])
        assert.equal(newestMessage(`${NEW}\n\n${line}\n${QUOTED}`).text, NEW, line);
});

test("an earlier message below an Outlook separator or header block is left out", () => {
    const earlier =
        "From: Alex Moreno\nSent: Tuesday, October 8, 2019 10:12 AM\nTo: Ben\nSubject: Maps\n\nCould someone bring the trail maps?";
    assert.deepEqual(newestMessage(`${NEW}\n\n${earlier}`), {text: NEW, leftOut: true});
    assert.equal(newestMessage(`${NEW}\n\n-----Original Message-----\n${earlier}`).text, NEW);
});

test("a writer's lines between quoted ones stay; an email without quotes is read whole", () => {
    const inline = "> Could someone bring the maps?\nI will.\n> We meet at 9.\nSee you there.";
    assert.deepEqual(newestMessage(inline), {text: "I will.\nSee you there.", leftOut: true});
    const plain = "Here is what she wrote:\nThe plan is fine.\n\nFrom: the committee, with thanks.";
    assert.deepEqual(newestMessage(plain), {text: plain, leftOut: false});
});

test("a selection that is all quotation is that message, its marks taken off", () => {
    assert.deepEqual(newestMessage(QUOTED), {
        text: "Could someone bring the trail maps? I forgot mine at the office.\n\nWe meet at 9 at the north gate.",
        leftOut: false,
    });
});

test("a tone rewrite keeps quoted lines and their attribution; a translation translates the quote, not its marks", () => {
    const kept = splitForRewrite(THREAD, "keep");
    const rewritable = (split: typeof kept) =>
        split.segments.filter((s) => s.kind === "sentence" || s.kind === "fragment").map((s) => s.text);
    assert.deepEqual(rewritable(kept), ["Sounds good to me, I will bring the maps on Saturday.", "Cheers,", "Ben"]);
    const translated = splitForRewrite(THREAD, "translate");
    assert.deepEqual(rewritable(translated), [
        "Sounds good to me, I will bring the maps on Saturday.",
        "Cheers,",
        "Ben",
        "Could someone bring the trail maps?",
        "I forgot mine at the office.",
        "We meet at 9 at the north gate.",
    ]);
    // Every piece rewritten (here: upper-cased) comes back in place, marks and attribution as they were.
    for (const split of [kept, translated]) {
        const rewritten = split.segments.map((s) => (s.kind === "verbatim" ? s.text : s.text.toUpperCase()));
        const joined = joinSegments(split.leading, split.segments, rewritten);
        assert.match(joined, /\nOn Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <alex@example.org> wrote:\n> /u);
        assert.equal(joined.split("\n").filter((line) => line.startsWith(">")).length, 3);
        assert.equal(joined.toLowerCase(), THREAD.toLowerCase());
    }
});

test("a selection that is all quotation is rewritten under its marks, even in a tone", () => {
    const {segments} = splitForRewrite(QUOTED, "keep");
    assert.deepEqual(
        segments.filter((s) => s.kind === "sentence").map((s) => s.text),
        ["Could someone bring the trail maps?", "I forgot mine at the office.", "We meet at 9 at the north gate."],
    );
    assert.deepEqual(
        segments.filter((s) => s.kind === "verbatim").map((s) => s.text),
        [">", ">", ">"],
    );
});

test("a rewrite keeps the signature block under its '-- ' line as it is", () => {
    const signed =
        "The ride is cancelled because of the rain.\n\nThanks,\nBill\n\n-- \nBill Hartley\nRide Coordinator, Westlake Cycling Club\nwww.westlakecycling.org | 555-0142\n";
    for (const quotes of ["keep", "translate"] as const) {
        const {segments} = splitForRewrite(signed, quotes);
        assert.deepEqual(
            segments.filter((s) => s.kind !== "verbatim").map((s) => s.text),
            ["The ride is cancelled because of the rain.", "Thanks,", "Bill"],
        );
        assert.equal(
            joinSegments(
                "",
                segments,
                segments.map((s) => s.text),
            ),
            signed,
        );
    }
});

test("a thread's writers come from its attribution lines, an Outlook 'From:' and a sign-off", () => {
    for (const line of [
        "On Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <alex@example.org> wrote:",
        "On 10/8/19 10:12 AM, Alex Moreno wrote:",
        "On Oct 8, 2019, at 10:12, Alex Moreno <alex@example.org> wrote:",
        "On Tue, Oct 8, 2019 at 10:12:33PM +0200, Alex Moreno wrote:",
        "Le mar. 8 oct. 2019 à 10:12, Alex Moreno <alex@example.org> a écrit :",
        "Am Di., 8. Okt. 2019 um 10:12 Uhr schrieb Alex Moreno <alex@example.org>:",
        "El mar, 8 oct 2019 a las 10:12, Alex Moreno (<alex@example.org>) escribió:",
    ])
        assert.equal(attributedWriter(line), "Alex Moreno", line);
    assert.equal(attributedWriter("alex@example.org wrote:"), null);
    assert.equal(attributedWriter("As Knuth wrote:"), null);
    for (const [signature, writer] of [
        ["Robert Wall", "Robert Wall"],
        ["-- Bill", "Bill"],
        ["- ajax", "ajax"],
        ["Ben.", "Ben"],
        ["Mike Duke, K5XU", "Mike Duke"],
        ["Jim Doane - CVC Red Ride Captain", "Jim Doane"],
    ])
        assert.deepEqual(signedBy(`The ride is off.\n\n${signature}`), {writer, text: "The ride is off."}, signature);
    for (const ending of ["Thanks", "Thoughts?", "Looking forward to it", "See you there.", "IRC"])
        assert.equal(signedBy(`The ride is off.\n\n${ending}`), null, ending);
    // The last word of a paragraph wrapped onto a line of its own is no signature.
    assert.equal(signedBy("We should decide before the\nmeeting."), null);
});

test("a thread reads oldest first, each message with its writer, bottom- or top-posted", () => {
    const expected = [
        {
            writer: "Alex Moreno",
            earlier: true,
            text: "Could someone bring the trail maps? I forgot mine at the office.\n\nWe meet at 9 at the north gate.",
        },
        {writer: "Ben", earlier: false, text: "Sounds good to me, I will bring the maps on Saturday.\n\nCheers,"},
    ];
    assert.deepEqual(threadMessages(THREAD), expected);
    const bottom = `On Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <alex@example.org> wrote:\n${QUOTED}\n\n${NEW}`;
    assert.deepEqual(threadMessages(bottom), expected);
    // A summary reads each writer apart, as a turn of a named dialogue, without the closing.
    const parts = threadByWriter(THREAD);
    assert.deepEqual(
        parts?.map((part) => writerTurn(part.writer, part.text)),
        [
            "Alex Moreno: Could someone bring the trail maps? I forgot mine at the office. We meet at 9 at the north gate.",
            "Ben: Sounds good to me, I will bring the maps on Saturday.",
        ],
    );
    assert.equal(threadByWriter(NEW), null);
    assert.equal(writerTurn(null, "Count me\nin."), "Someone: Count me in.");
    const wrapped = `${NEW}\n\nOn Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <\nalex@example.org> wrote:\n${QUOTED}`;
    assert.deepEqual(threadMessages(wrapped), expected);
    // A document's blockquote under "As Knuth wrote:" is read as the document it is.
    const essay =
        "Programs are read more than run.\n\nAs Knuth wrote:\n> Premature optimization is the root of all evil.\n\nSo measure first.";
    assert.equal(threadByWriter(essay), null);
});

test("nested quotes, inline answers and an Outlook header block each keep their writer", () => {
    const nested = `Count me in.\n\nOn Wed, Oct 9, 2019 at 8:00 AM Ben Ito <ben@example.org> wrote:\n> I will bring the maps.\n>\n> On Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <alex@example.org> wrote:\n>> Could someone bring the maps?\n`;
    assert.deepEqual(
        threadMessages(nested).map((m) => [m.writer, m.text]),
        [
            ["Alex Moreno", "Could someone bring the maps?"],
            ["Ben Ito", "I will bring the maps."],
            [null, "Count me in."],
        ],
    );
    const inline = "Alex Moreno wrote:\n> Could someone bring the maps?\nI will.\n> We meet at 9.\nSee you there.";
    assert.deepEqual(
        threadMessages(inline).map((m) => [m.writer, m.text]),
        [
            ["Alex Moreno", "Could someone bring the maps?"],
            [null, "I will."],
            ["Alex Moreno", "We meet at 9."],
            [null, "See you there."],
        ],
    );
    // By writer: all each wrote, in the order they first wrote.
    assert.deepEqual(threadByWriter(inline), [
        {writer: "Alex Moreno", text: "Could someone bring the maps?\n\nWe meet at 9."},
        {writer: null, text: "I will.\n\nSee you there."},
    ]);
    const outlook = `${NEW}\n\nFrom: Alex Moreno <alex@example.org>\nSent: Tuesday, October 8, 2019 10:12 AM\nTo: Ben\nSubject: Maps\n\nCould someone bring the maps?`;
    assert.deepEqual(
        threadMessages(outlook).map((m) => m.writer),
        ["Alex Moreno", "Ben"],
    );
    // A quoted message that carries an earlier one below its header block: that one is older.
    const carried = `${NEW}\n\nOn Wed, Oct 9, 2019 at 8:00 AM Ben Ito <ben@example.org> wrote:\n> Regrets, I am away.\n> -----Original Message-----\n> From: Alex Moreno [mailto:alex@example.org]\n> Sent: Tuesday, October 8, 2019 10:12 AM\n> Subject: Maps\n> Could someone bring the maps?`;
    assert.deepEqual(
        threadMessages(carried).map((m) => [m.writer, m.text]),
        [
            ["Alex Moreno", "Could someone bring the maps?"],
            ["Ben Ito", "Regrets, I am away."],
            ["Ben", "Sounds good to me, I will bring the maps on Saturday.\n\nCheers,"],
        ],
    );
});

test("an OpenPGP-signed email's armor is no one's prose: replies and summaries leave it out, rewrites keep it", () => {
    const armored = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n${NEW}\n-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n=kq2N\n-----END PGP SIGNATURE-----\n`;
    // Nothing quoted was left out: no note says so.
    assert.deepEqual(newestMessage(armored), {text: NEW, leftOut: false});
    // As archives show it, without the BEGIN and END lines.
    assert.equal(newestMessage(`Hash: SHA1\n\n${NEW}\nVersion: GnuPG v1.4.6 (GNU/Linux)`).text, NEW);
    const quoted = `${NEW}\n\nOn Tue, Oct 8, 2019 at 10:12 AM Alex Moreno <alex@example.org> wrote:\n> Hash: SHA1\n>\n${QUOTED}`;
    assert.deepEqual(
        threadByWriter(quoted)?.map((part) => part.text.split("\n")[0]),
        [
            "Could someone bring the trail maps? I forgot mine at the office.",
            "Sounds good to me, I will bring the maps on Saturday.",
        ],
    );
    const {segments} = splitForRewrite(armored, "keep");
    assert.deepEqual(
        segments.filter((s) => s.kind === "verbatim").map((s) => s.text),
        [
            "-----BEGIN PGP SIGNED MESSAGE-----",
            "Hash: SHA256",
            "-----BEGIN PGP SIGNATURE-----",
            "iQEzBAEBCAAdFiEE",
            "=kq2N",
            "-----END PGP SIGNATURE-----",
        ],
    );
});
