// The reply adapter learned from persona chat, dialogue turns and a few hundred teacher emails; to
// an email that does not open with a greeting (most list mail) it answers with a chat line ("I'm
// working on a new project."). Begun with an email's first words, it writes the rest as an email
// reply (lab/TRAINING.md, "A reply begun as an email"). Chat lines and dialogues keep their chat
// replies: only a text shaped like an email gets the opening.

/** For whatever caches outputs: bump with any change to isEmail or REPLY_OPENING. */
export const REPLY_OPENING_VERSION = "hi-thank-you-v1";

/** What a reply to an email starts with; the model writes on from here. */
export const REPLY_OPENING = "Hi,\n\nThank you for your email.";

/** "Hi Maloy,", "Dear all,", "Hello everyone!", "Good morning,": a short first line that greets. */
const GREETING_LINE = /^(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))\b[^.?\n]{0,40}[,!]?$/iu;
/** "Kai: Is this seat taken?": a line of a transcript, its speaker before the colon. */
const SPEAKER_LINE = /^\p{Lu}[\p{L}\p{N} .'’-]{0,30}:\s+\S/u;

/**
 * Words from which a one-paragraph text reads as a letter rather than a chat line: the customer
 * messages of the real-text suite (CoCoA-MT) run to 39 words, the single-paragraph emails of its
 * draws to 60 and more.
 */
const LETTER_WORDS = 50;

/**
 * A text shaped like an email: it opens with a greeting line (a greeting alone is a chat line), runs to paragraphs (blank lines
 * between them) or is long for a message; not a transcript, whose lines mostly begin with a
 * speaker's name.
 */
export function isEmail(text: string): boolean {
    const lines = text
        .trim()
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.length > 0);
    const [first] = lines;
    if (first === undefined) return false;
    const spoken = lines.filter((line) => SPEAKER_LINE.test(line)).length;
    if (spoken >= 3 && spoken * 2 >= lines.length) return false;
    const paragraphs = text.trim().split(/\n\s*\n/).length;
    const words = text.split(/\s+/u).filter((word) => word.length > 0).length;
    return (GREETING_LINE.test(first) && lines.length > 1) || paragraphs >= 2 || words >= LETTER_WORDS;
}
