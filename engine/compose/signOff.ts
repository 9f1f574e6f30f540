// A reply suggested for an email does not know its user's name, so a name it ends with ("Best
// regards,\n\nNico", "... hearing from you soon. Tim", "-Chris", "[email address]") is one the
// model took from the email or made up: read blind on 40 real emails, the reply adapter signed
// replies as the person the email asks to remove, as its writer, or as a colleague it names
// (lab/TRAINING.md, "Emails as lists send them"). The reply keeps its closing and the user signs
// it. A name the email greets ("Hi Maloy,") is its reader's: it stays. So does a name a sentence
// ends by addressing ("Thank you, Sarah."): that is the writer, spoken to.

import {CLOSING} from "./mailParts";

/** For whatever caches outputs: bump with any change to withoutBorrowedSignature. */
export const SIGN_OFF_VERSION = "signature-tail-v3-address";

/**
 * What a reply's last words are when they sign it: after a sentence's end or on a line of their
 * own, one to three capitalized words ("Nico", "Jørgen Nielsen", "Michael Duke, K5XU"), a dash
 * and one word ("-Chris", "- ajax"; a list's last item has more), or a placeholder ("[Your Name]").
 */
const SIGNATURE_TAIL =
    /(?:^\s*|(?<=[.!?:,)])\s+)((?:\p{Lu}[\p{L}'’.-]*(?: \p{Lu}[\p{L}'’.-]*){0,2}(?:, ?[\p{Lu}\p{N}]{2,10})?)|-\s?\p{L}[\p{L}'’.-]*|\[[^\]\n]{1,30}\])\s*$/u;
/** A sentence that ends by addressing someone: ", Sarah." is a vocative, not a signature. */
const ADDRESS = /^,[^\S\n]+\p{Lu}[\p{L}'’-]*(?: \p{Lu}[\p{L}'’-]*){0,2}[.!?]$/u;
/** The email's greeting line, and whom it greets. */
const GREETING = /^\s*(?:hi|hello|hey|dear)\s+([^,\n]{1,40}),/iu;

/**
 * The reply without the signature it ends with (SIGNATURE_TAIL), unless that is the name the
 * email greets or a sentence's last word addresses (ADDRESS), and without a last line that is the
 * email's own signature (the reply is not from its writer); else as it was. A reply that is
 * nothing but a name is left to the other checks.
 */
export function withoutBorrowedSignature(reply: string, email: string): string {
    const trimmed = reply.trimEnd();
    const tail = SIGNATURE_TAIL.exec(trimmed);
    const lines = trimmed.split("\n");
    const writer = email.trimEnd().split("\n").at(-1)?.trim();
    const lastLine = lines.at(-1)?.trim() ?? "";
    const signed =
        tail !== null &&
        tail[1] !== undefined &&
        !CLOSING.test(tail[1]) && // "Thanks", "Cheers Barry" end a reply as words, not as a signature
        !ADDRESS.test(trimmed.slice(tail.index - 1)) &&
        GREETING.exec(email)?.[1]?.trim() !== tail[1].replace(/^-\s?/u, "");
    const cut = signed ? tail.index : lastLine === writer && lines.length > 1 ? trimmed.lastIndexOf("\n") : -1;
    if (cut <= 0) return reply;
    const rest = trimmed.slice(0, cut).trimEnd();
    return /\p{L}/u.test(rest) ? rest : reply;
}
