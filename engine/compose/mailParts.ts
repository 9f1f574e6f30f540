// The parts of an email that are not its writer's prose. An email as people select it often
// carries the thread it answers: the earlier message quoted under an "On ..., Alex wrote:" line
// ("> ..." lines, as mail clients and lists send them), or below an "-----Original Message-----"
// separator or a "From: / Sent:" header block. Those are someone else's words. Given such an email
// with its quoted thread, the reply adapter answered the quoted message instead of the newest one
// (13 of 20 real list emails read blind, docs/method.md); a casual rewrite reworded the quoted lines
// and dropped their "> ", a translation dropped the marks and turned "On Tue," into "Vendredi,".
// So a reply reads the newest message (composer.ts), and a rewrite keeps the quoting marks and the
// attribution line, and leaves quoted lines as they are unless it translates (segments.ts). And
// the signature block under a "-- " line (a name, a title, an address, a phone number) is no
// prose to rewrite: a professional rewrite put a period after "Ride Coordinator, Westlake Cycling
// Club", a translation made the coordinator a "Routenfahrer".

/** For whatever caches outputs: bump with any change to newestMessage or what it reads. */
export const NEWEST_MESSAGE_VERSION = "quote-marks-attribution-original-message-v1";

/** A quoted line's marks: "> ", ">> ", "> > ". */
export const QUOTE_MARKS = /^[ \t]*>(?:[ \t]*>)*[ \t]?/u;

/**
 * The line a mail client puts above a quoted message, in the languages the engine writes: "On Tue,
 * Oct 8, 2019 at 10:12 AM Alex <alex@example.org> wrote:", "Le mar. 8 oct. 2019, Alex a écrit :",
 * "Am 08.10.2019 um 10:12 schrieb Alex:", "El mar, 8 oct 2019 a las 10:12, Alex escribió:".
 */
const ATTRIBUTION = /(?:\bwrote|\ba écrit|\bschrieb\b.*|\bescribió)\s*:\s*$/iu;
/** Its first half, when a client wrapped the line before the address: "On Tue, ... Alex Moreno <". */
const ATTRIBUTION_START = /^\s*(?:On|Le|Am|El)\s+\S/u;
/** Where an earlier message starts without quoting marks (Outlook and forwarding clients). */
const ORIGINAL_MESSAGE =
    /^\s*-{2,}\s*(?:original message|forwarded message|message d'origine|message transféré|ursprüngliche nachricht|weitergeleitete nachricht|mensaje original|mensaje reenviado)\s*-{2,}\s*$/iu;
/** An Outlook header block's first two lines: "From: Alex ...", then "Sent:" or "Date:". */
const HEADER_FROM = /^\s*(?:From|De|Von):\s+\S/iu;
const HEADER_SENT = /^\s*(?:Sent|Date|Envoyé|Gesendet|Enviado|Fecha):\s+\S/iu;

export const isQuoted = (line: string): boolean => QUOTE_MARKS.test(line);

/**
 * The line above a signature block: "-- ", with its space (RFC 3676). Not "--" alone, which people
 * also type above a closing ("--\nBest regards,\nCarl") that a translation should translate.
 */
export const isSignatureDelimiter = (line: string): boolean => line === "-- ";

/**
 * The lines of `lines` that introduce a quoted message: a line ending in "wrote:" (or its French,
 * German or Spanish) whose next non-blank line is quoted, and the line before it when the client
 * wrapped the attribution there. Returned as line indices.
 */
export function attributionLines(lines: readonly string[]): Set<number> {
    const found = new Set<number>();
    for (const [i, line] of lines.entries()) {
        if (isQuoted(line) || !ATTRIBUTION.test(line)) continue;
        const next = lines.slice(i + 1).find((l) => l.trim().length > 0);
        if (next === undefined || !isQuoted(next)) continue;
        found.add(i);
        const before = lines[i - 1];
        if (!ATTRIBUTION_START.test(line) && before !== undefined && ATTRIBUTION_START.test(before)) found.add(i - 1);
    }
    return found;
}

/** Where an earlier message starts that is not quoted line by line, or -1. */
function earlierMessageStart(lines: readonly string[]): number {
    return lines.findIndex(
        (line, i) => ORIGINAL_MESSAGE.test(line) || (HEADER_FROM.test(line) && HEADER_SENT.test(lines[i + 1] ?? "")),
    );
}

export interface NewestMessage {
    /** What the email's writer wrote: without quoted lines, their attribution, and earlier messages. */
    readonly text: string;
    /** Whether quoted or earlier messages were left out. */
    readonly leftOut: boolean;
}

/**
 * The newest message of an email: its own lines, without the messages it quotes. An email that is
 * all quotation (the user selected only the quoted message) is that message with its marks taken
 * off.
 */
export function newestMessage(email: string): NewestMessage {
    const all = email.split(/\r?\n/u);
    const start = earlierMessageStart(all);
    const lines = start >= 0 ? all.slice(0, start) : all;
    const attributions = attributionLines(lines);
    const own = lines.filter((line, i) => !isQuoted(line) && !attributions.has(i));
    const text = own
        .join("\n")
        .replace(/\n{3,}/gu, "\n\n")
        .trim();
    if (/\p{L}/u.test(text)) return {text, leftOut: own.length < all.length};
    const unquoted = all
        .filter((_line, i) => !attributions.has(i))
        .map((line) => line.replace(QUOTE_MARKS, ""))
        .join("\n")
        .trim();
    return {text: unquoted, leftOut: false};
}
