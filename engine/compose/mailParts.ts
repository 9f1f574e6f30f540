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
export const NEWEST_MESSAGE_VERSION = "quote-marks-attribution-original-message-v3-said-pgp";

/** A quoted line's marks: "> ", ">> ", "> > ". */
export const QUOTE_MARKS = /^[ \t]*>(?:[ \t]*>)*[ \t]?/u;

/** How deep a line is quoted: 0 for the writer's own, 1 for "> ", 2 for ">> " or "> > ". */
const quoteDepth = (line: string): number => (QUOTE_MARKS.exec(line)?.[0].match(/>/gu) ?? []).length;
const unquoted = (line: string): string => line.replace(QUOTE_MARKS, "");

/**
 * The line a mail client puts above a quoted message, in the languages the engine writes: "On Tue,
 * Oct 8, 2019 at 10:12 AM Alex <alex@example.org> wrote:", "Le mar. 8 oct. 2019, Alex a écrit :",
 * "Am 08.10.2019 um 10:12 schrieb Alex:", "El mar, 8 oct 2019 a las 10:12, Alex escribió:".
 */
const ATTRIBUTION_VERBS = String.raw`\bwrote|\bwrites|\bsaid|\ba écrit|\bescribió`;
const ATTRIBUTION = new RegExp(String.raw`(?:${ATTRIBUTION_VERBS}|\bschrieb\b.*)\s*:\s*$`, "iu");
/** Its verb, where the writer comes before it (German's "schrieb Alex:" puts the writer after). */
const VERB_AFTER_WRITER = new RegExp(String.raw`(?:${ATTRIBUTION_VERBS})\s*:\s*$`, "iu");
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
 * The lines of an OpenPGP-signed email (RFC 4880, section 7) that are no one's prose: the
 * "-----BEGIN PGP SIGNED MESSAGE-----" line and its "Hash: SHA256" header, and the signature from
 * "-----BEGIN PGP SIGNATURE-----" to its END line (and its "Version: GnuPG ..." line where an
 * archive dropped the rest), also when quoted. A summary made "Hash" a person
 * who "tells the audience that SHA1 will still be around" (a real Debian-style thread). Returned as
 * line indices.
 */
export function signingArmor(lines: readonly string[]): Set<number> {
    const found = new Set<number>();
    let inSignature = false;
    for (const [i, line] of lines.entries()) {
        const own = line.replace(QUOTE_MARKS, "").trim();
        if (own === "-----BEGIN PGP SIGNATURE-----") inSignature = true;
        if (inSignature || ARMOR_LINE.test(own)) found.add(i);
        if (own === "-----END PGP SIGNATURE-----") inSignature = false;
    }
    return found;
}

/** A signed message's armor line outside its signature block. */
const ARMOR_LINE =
    /^-----BEGIN PGP SIGNED MESSAGE-----$|^Hash: [A-Z0-9]{3,10}(?:, ?[A-Z0-9]{3,10})*$|^Version: GnuPG\b/u;

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
    const armor = signingArmor(all);
    const own = lines.filter((line, i) => !isQuoted(line) && !attributions.has(i) && !armor.has(i));
    const text = own
        .join("\n")
        .replace(/\n{3,}/gu, "\n\n")
        .trim();
    const quotes = start >= 0 || lines.some((line, i) => isQuoted(line) || attributions.has(i));
    if (/\p{L}/u.test(text)) return {text, leftOut: quotes};
    const withoutMarks = all
        .filter((_line, i) => !attributions.has(i) && !armor.has(i))
        .map(unquoted)
        .join("\n")
        .trim();
    return {text: withoutMarks, leftOut: false};
}

/** For whatever caches outputs: bump with any change to threadByWriter or writerTurn. */
export const THREAD_PARTS_VERSION = "writer-paragraphs-v3-someone-pgp";

/** One message of a thread: who wrote it, when the email says, and what they wrote. */
export interface ThreadMessage {
    readonly writer: string | null;
    /** Whether it is an earlier message the email quotes (or carries below a separator). */
    readonly earlier: boolean;
    readonly text: string;
}

/**
 * The writer an attribution line names: "On Tue, ... 10:12 AM Alex Moreno <alex@example.org>
 * wrote:" -> "Alex Moreno". Null for a line that names no one by a name ("alex@example.org
 * wrote:") and for a document's "As Knuth wrote:", which introduces a quotation, not a message.
 */
export function attributedWriter(line: string): string | null {
    const german = /\bschrieb\s+(.*?)\s*:\s*$/iu.exec(line);
    let rest = german?.[1] ?? line.replace(VERB_AFTER_WRITER, "");
    // Without addresses, and without the list a rewritten sender came through ("Stuart Ward via Sclug").
    rest = rest.replace(/\(?<[^>]*>\)?|\([^)]*@[^)]*\)|\S+@\S+|\s+via\s+\S+\s*$/gu, " ");
    // The name follows the date: after its last comma or its time ("10:12 AM", "10:12 Uhr").
    const parts = rest.split(/,|\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:[AaPp]\.?[Mm]\.?|Uhr))?/u);
    const name = (parts.at(-1) ?? "").replace(/^\s*(?:On|Le|Am|El)\s+/u, "").trim();
    return isName(name) && !/^As\s/u.test(name) ? name : null;
}

/**
 * One to four capitalized words ("Alex Moreno", "Mark P. Conmy", "David W"), or one word as people
 * sign ("ajax", "Bill"), not in capitals ("IRC" ends an agenda).
 */
const isName = (text: string): boolean =>
    (/^\p{L}(?:[\p{L}'’.-]*\p{L})?$/u.test(text) && !/^\p{Lu}{2,}$/u.test(text)) ||
    /^\p{Lu}[\p{L}'’.-]*(?: \p{Lu}[\p{L}'’.-]*){0,2} \p{Lu}(?:[\p{L}'’-]*\p{L})?$/u.test(text);

/** A closing's first word, never a name: "Thanks", "Cheers Barry", "Best regards". */
export const CLOSING =
    /^(?:thanks|thank|cheers|regards|best|sincerely|yours|love|ciao|merci|cordialement|gracias|saludos|danke|grüße|gruß)\b/iu;

/**
 * The name a message is signed with, and its text without the signature: a last line of its own
 * that is a name ("Robert Wall", "-- Bill", "- ajax", "Ben.", "Mike Duke, K5XU", "Jim Doane - CVC Red
 * Ride Captain"), or the first line of a signature block under "-- ".
 */
export function signedBy(text: string): {readonly writer: string; readonly text: string} | null {
    const lines = text.trimEnd().split("\n");
    const delimiter = lines.map(isSignatureDelimiter).lastIndexOf(true);
    const at = delimiter >= 0 ? delimiter + 1 : lines.length - 1;
    const line = lines[at]?.trim() ?? "";
    const match = /^(?:-{1,2}\s?)?([^,]+?)(?:,\s*[^,]{1,40}|\s+-\s+.{1,60})?$/u.exec(line);
    const name = (match?.[1]?.trim() ?? "").replace(/(?<=\p{L})\.$/u, "");
    // On a line of its own: after a blank line, a sentence's end or a closing, or behind a dash;
    // not the last word of a paragraph wrapped onto its own line ("... before the\nmeeting.").
    const before = lines[at - 1]?.trim() ?? "";
    const ownLine = /^-/u.test(line) || before === "" || /[.!?:)]$/u.test(before) || CLOSING.test(before);
    const looksSigned = isName(name) && !CLOSING.test(name) && at > 0 && ownLine;
    if (!looksSigned) return null;
    const rest = lines
        .slice(0, delimiter >= 0 ? delimiter : at)
        .join("\n")
        .trimEnd();
    return /\p{L}/u.test(rest) ? {writer: name, text: rest} : null;
}

/** A message's greeting and whom it greets: "Hello Avri,", "Hi Wayne --". */
const GREETING =
    /^\s*(?:[Hh]i|[Hh]ello|[Hh]ey|[Dd]ear)\s+(\p{Lu}[\p{L}'’-]*(?: \p{Lu}[\p{L}'’-]*)?)\s*(?:,|!|-{1,2}|$)/u;

/** The earlier message under an Outlook separator or header block, its writer from "From:". */
function earlierMessages(lines: readonly string[]): ThreadMessage[] {
    let i = ORIGINAL_MESSAGE.test(lines[0] ?? "") ? 1 : 0;
    while (i < lines.length && lines[i]?.trim() === "") i++;
    let writer: string | null = null;
    for (; i < lines.length && HEADER_LINE.test(lines[i] ?? ""); i++) writer = headerWriter(lines[i] ?? "") ?? writer;
    return threadMessagesOf(lines.slice(i), writer);
}

/** A line of an Outlook header block: "From: ...", "Sent: ...", "To: ...", "Subject: ...". */
const HEADER_LINE = /^\s*[\p{L} ]{2,20}:\s/u;

/** The writer a header block's "From:" line names ("Lofton Henderson [mailto:...]"), else null. */
function headerWriter(line: string): string | null {
    const from = /^\s*(?:From|De|Von):\s*(.*)$/iu.exec(line)?.[1];
    const name = from?.replace(/\[mailto:[^\]]*\]|\[\]|<[^>]*>|\S+@\S+|"/gu, " ").trim() ?? "";
    return isName(name) ? name : null;
}

function threadMessagesOf(signed: readonly string[], newestWriter: string | null): ThreadMessage[] {
    const armor = signingArmor(signed);
    const all = signed.filter((_line, i) => !armor.has(i));
    const start = earlierMessageStart(all);
    const lines = start >= 0 ? all.slice(0, start) : all;
    const earlier = start >= 0 ? earlierMessages(all.slice(start)) : [];
    /** Runs of lines at one depth, in the email's order, each with the writer its attribution names. */
    const runs: {depth: number; writer: string | null; lines: string[]}[] = [];
    const writers = new Map<number, string | null>();
    /** Quoted messages that carry an earlier one below a separator or header block: its writer, by depth. */
    const carried = new Map<number, string | null>();
    let header: number | null = null;
    /** Each line's next line with words (blank and empty quoted lines skipped), found in one pass. */
    const nextWords: (string | undefined)[] = [];
    for (let i = lines.length - 1, seen: string | undefined; i >= 0; i--) {
        nextWords[i] = seen;
        if (unquoted(lines[i] ?? "").trim().length > 0) seen = lines[i];
    }
    for (const [i, line] of lines.entries()) {
        const quoted = quoteDepth(line);
        const own = unquoted(line);
        if (
            quoted > 0 &&
            (ORIGINAL_MESSAGE.test(own) || (HEADER_FROM.test(own) && HEADER_SENT.test(unquoted(lines[i + 1] ?? ""))))
        ) {
            carried.set(quoted, null);
            header = quoted;
            if (ORIGINAL_MESSAGE.test(own)) continue;
        }
        if (header === quoted && HEADER_LINE.test(own)) {
            carried.set(quoted, headerWriter(own) ?? carried.get(quoted) ?? null);
            continue;
        }
        header = null;
        // The carried message is older than the one carrying it: read as quoted half a level deeper.
        const depth = carried.has(quoted) ? quoted + 0.5 : quoted;
        if (carried.has(quoted)) writers.set(depth, carried.get(quoted) ?? null);
        const next = nextWords[i];
        if (ATTRIBUTION.test(own) && next !== undefined && quoteDepth(next) > depth) {
            // A client that wrapped the line put the name on the line before ("On Tue, ... Alex <").
            const before = unquoted(lines[i - 1] ?? "");
            const wrapped = !ATTRIBUTION_START.test(own) && ATTRIBUTION_START.test(before);
            writers.set(depth + 1, attributedWriter(wrapped ? `${before} ${own}` : own));
            continue;
        }
        if (ATTRIBUTION_START.test(own) && next !== undefined && ATTRIBUTION.test(unquoted(next))) continue;
        const last = runs.at(-1);
        if (own.trim() === "" && last !== undefined) last.lines.push("");
        else if (last?.depth === depth) last.lines.push(own);
        else if (own.trim() !== "")
            runs.push({depth, writer: depth === 0 ? null : (writers.get(depth) ?? null), lines: [own]});
    }
    // Top- and bottom-posted threads read oldest first; a writer answering between the quoted lines
    // (own text after one quote and before another) is read in the email's order.
    const firstQuote = runs.findIndex((r) => r.depth > 0);
    const lastQuote = runs.map((r) => r.depth > 0).lastIndexOf(true);
    const inline = runs.some((r, i) => r.depth === 0 && i > firstQuote && i < lastQuote);
    const ordered = inline ? runs : [...runs].sort((a, b) => b.depth - a.depth);
    // A message's last run may end with the name it is signed with: its writer where no
    // attribution line (or "From:") names one, and no words of the message.
    const signatures = new Map<number, ReturnType<typeof signedBy>>();
    for (const run of runs) signatures.set(run.depth, signedBy(run.lines.join("\n").trim()));
    // A message no line names is often greeted by the one answering it ("Hello Avri,"); that
    // greeting, alone on its lines, is no message to report.
    const greeted = new Map<number, string>();
    for (const run of runs) {
        const name = GREETING.exec(run.lines.join("\n"))?.[1];
        if (name !== undefined && !greeted.has(run.depth + 1)) greeted.set(run.depth + 1, name);
    }
    const messages: {depth: number; writer: string | null; text: string}[] = [];
    for (const [i, run] of ordered.entries()) {
        const text = run.lines.join("\n").trim();
        if (GREETING.test(text) && text.split(/\s+/u).length <= 4) continue;
        const signature = ordered.slice(i + 1).some((r) => r.depth === run.depth) ? null : signatures.get(run.depth);
        const writer =
            (run.depth === 0 ? newestWriter : run.writer) ??
            signatures.get(run.depth)?.writer ??
            greeted.get(run.depth) ??
            null;
        const body = signature?.text ?? text;
        const previous = messages.at(-1);
        if (previous?.depth === run.depth && previous.writer === writer) previous.text += `\n\n${body}`;
        else messages.push({depth: run.depth, writer, text: body});
    }
    return [
        ...earlier.map((message) => ({...message, earlier: true})),
        ...messages.map(({depth, writer, text}) => ({writer, earlier: depth > 0, text})),
    ];
}

/**
 * The messages of an email with its thread, oldest first: the messages it quotes, each with the
 * writer its attribution line or "From:" names, then the newest, with the name it is signed with
 * ("Alex Moreno", "Robert Wall"), or null where the email names none. One message when it quotes
 * none.
 */
export const threadMessages = (email: string): ThreadMessage[] => threadMessagesOf(email.split(/\r?\n/u), null);

/** One writer's part of a thread: all they wrote in it. */
export interface WriterPart {
    readonly writer: string | null;
    readonly text: string;
}

/**
 * An email with its thread by writer: each writer's messages together, in the order the writers
 * first wrote (oldest first). Given the thread as selected, or as one named dialogue, the
 * summarizer gave one writer's words to another in most of 24 real list threads read blind
 * (docs/method.md); each writer summarized apart keeps who said what. Null for an email that
 * quotes nothing, or no writer it names: "> " lines under no name are a document's blockquotes.
 */
export function threadByWriter(email: string): WriterPart[] | null {
    // Most texts quote nothing: no line to read twice.
    if (!/^[ \t]*>/mu.test(email) && earlierMessageStart(email.split(/\r?\n/u)) < 0) return null;
    const messages = threadMessages(email);
    if (messages.every((m) => !m.earlier || m.writer === null)) return null;
    const parts = new Map<string, {writer: string | null; texts: string[]}>();
    for (const m of messages) {
        const key = m.writer ?? (m.earlier ? "\u0000earlier" : "\u0000newest");
        const part = parts.get(key) ?? {writer: m.writer, texts: []};
        part.texts.push(withoutClosing(m.text));
        parts.set(key, part);
    }
    return [...parts.values()].map(({writer, texts}) => ({writer, text: texts.join("\n\n")}));
}

/** A closing line ("Cheers,", "Best regards,") says nothing a summary reports. */
function withoutClosing(text: string): string {
    const lines = text.split("\n");
    const last = lines.at(-1)?.trim() ?? "";
    return lines.length > 1 && CLOSING.test(last) && last.length <= 30 ? lines.slice(0, -1).join("\n").trimEnd() : text;
}

/**
 * What the summarizer reads of a writer's words: a turn of a named dialogue, as it was trained on
 * ("Alex Moreno: Could someone bring the maps? ..."), so that its summary names the writer. A
 * writer the email does not name is "Someone": read alone, their words came back in the first
 * person ("I would personally lean toward option 1") or as a decision ("We decide to meet") more
 * often (12 unnamed parts of real threads read blind: faithful 6 against 4, clear about who speaks
 * 6 against 4, the best of three 4 times against once; "The sender" was clearer, 8, but kept
 * the gist less often, 5 against 7).
 */
export function writerTurn(writer: string | null, text: string): string {
    return `${writer ?? "Someone"}: ${text.replace(/\s+/gu, " ").trim()}`;
}
