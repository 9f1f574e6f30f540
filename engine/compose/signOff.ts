// A reply suggested for an email does not know its user's name, so a name under its closing
// ("Best regards,\n\nNico") is one the model took from the email or made up: read blind on 40 real
// emails, the reply adapter signed replies as the person the email asks to remove, as its writer,
// or as a colleague it names (lab/TRAINING.md, "Emails as lists send them"). The reply keeps its
// closing and the user signs it. A name the email greets ("Hi Maloy,") is its reader's: it stays.
// The email's own signature under the reply ("... a lot of fun.\n\nJohn" to John's email) goes too.

/** For whatever caches outputs: bump with any change to withoutBorrowedSignature. */
export const SIGN_OFF_VERSION = "borrowed-name-v1";

/** "Best regards,", "Cheers,", "Cordialement,": a few words ending in a comma. */
const CLOSING = /^\p{Lu}[\p{L} ]{1,30},$/u;
/** One to three capitalized words: "Nico", "Jørgen Nielsen", "O'Brien". */
const NAME = /^\p{Lu}[\p{L}'’.-]*(?: \p{Lu}[\p{L}'’.-]*){0,2}$/u;
/** The email's greeting line, and whom it greets. */
const GREETING = /^\s*(?:hi|hello|hey|dear)\s+([^,\n]{1,40}),/iu;

/**
 * The reply without a name under its closing, unless the email greets that name, and without a
 * last line that is the email's own signature (the reply is not from its writer); else as it was.
 */
export function withoutBorrowedSignature(reply: string, email: string): string {
    const lines = reply.trimEnd().split("\n");
    const name = lines.at(-1)?.trim() ?? "";
    const rest = lines.slice(0, -1);
    while (rest.at(-1)?.trim() === "") rest.pop();
    if (rest.length === 0 || !NAME.test(name)) return reply;
    const writer = email.trimEnd().split("\n").at(-1)?.trim();
    const closing = rest.at(-1)?.trim() ?? "";
    if (name === writer || (CLOSING.test(closing) && GREETING.exec(email)?.[1]?.trim() !== name))
        return rest.join("\n");
    return reply;
}
