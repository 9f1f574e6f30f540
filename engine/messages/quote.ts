// Values from files, the network or the user, made safe to put in a message: a corrupt file
// can hold megabytes of binary where a 20-character name was expected, and a name can hold
// newlines or bidi overrides that make a message lie about what it says.

/** Longest quoted value, in characters, unless a caller asks for another limit. */
export const QUOTE_MAX_CHARS = 80;
/** Longest message shown to a user (CLI stderr, editor notification). */
export const MESSAGE_MAX_CHARS = 2000;

/**
 * C0 and C1 controls, DEL, line/paragraph separators, every bidi formatting character (ALM,
 * LRM/RLM, LRE..RLO, LRI..PDI: they change how the surrounding text is shown) and lone surrogates.
 */
function isUnsafe(code: number, next: number, previous: number, keepLines: boolean): boolean {
    if (code < 0x20) return !(keepLines && (code === 0x0a || code === 0x09));
    if (code >= 0x7f && code <= 0x9f) return true;
    if (code === 0x061c || code === 0x200e || code === 0x200f || code === 0x2028 || code === 0x2029) return true;
    if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) return true;
    if (code >= 0xd800 && code <= 0xdbff) return !(next >= 0xdc00 && next <= 0xdfff);
    if (code >= 0xdc00 && code <= 0xdfff) return !(previous >= 0xd800 && previous <= 0xdbff);
    return false;
}

/** The first character of `text` that would make it display as something else, or null. */
export function firstUnsafeCharacter(
    text: string,
): {readonly index: number; readonly codePoint: string; readonly kind: "control" | "bidi" | "lone surrogate"} | null {
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (!isUnsafe(code, text.charCodeAt(i + 1), text.charCodeAt(i - 1), false)) continue;
        const kind =
            code >= 0xd800 && code <= 0xdfff
                ? "lone surrogate"
                : code < 0x20 || (code >= 0x7f && code <= 0x9f)
                  ? "control"
                  : "bidi";
        return {index: i, codePoint: `U+${code.toString(16).toUpperCase().padStart(4, "0")}`, kind};
    }
    return null;
}

/** `text` with every unsafe character written as `\uXXXX`. */
function escapeUnsafe(text: string, keepLines: boolean): string {
    let out = "";
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        out += isUnsafe(code, text.charCodeAt(i + 1), text.charCodeAt(i - 1), keepLines)
            ? `\\u${code.toString(16).padStart(4, "0")}`
            : text.charAt(i);
    }
    return out;
}

/** The first `max` characters of `text`, never splitting a surrogate pair. */
function head(text: string, max: number): string {
    const end = text.length > max && /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
    return text.slice(0, end);
}

/**
 * `value` in double quotes, with quotes, backslashes, control and bidi characters and lone
 * surrogates escaped, cut to `maxChars` characters with its full length said:
 * `"abc…" (3700000 characters)`.
 */
export function quote(value: string, maxChars = QUOTE_MAX_CHARS): string {
    const shown = value.length > maxChars ? head(value, maxChars) : value;
    const escaped = escapeUnsafe(shown.replaceAll("\\", "\\\\").replaceAll('"', '\\"'), false);
    return value.length > maxChars ? `"${escaped}…" (${value.length} characters)` : `"${escaped}"`;
}

/** Any JSON-like value for a message: strings through `quote`, the rest as capped JSON. */
export function show(value: unknown, maxChars = QUOTE_MAX_CHARS): string {
    if (value === undefined) return "nothing";
    if (typeof value === "string") return quote(value, maxChars);
    if (typeof value === "bigint") return String(value);
    let text: string;
    try {
        text = JSON.stringify(value) ?? String(value);
    } catch {
        text = String(value);
    }
    const capped = text.length > maxChars ? `${head(text, maxChars)}… (${text.length} characters)` : text;
    return escapeUnsafe(capped, false);
}

/**
 * Prefixes of two hex digests long enough to tell them apart: at least `min` digits, and four
 * past the first difference, so "trained for base e1ca81aad5d9, not e1ca81aad5d9" cannot happen.
 */
export function distinctPrefixes(a: string, b: string, min = 12): [string, string] {
    let differ = 0;
    while (differ < a.length && differ < b.length && a[differ] === b[differ]) differ++;
    const length = Math.max(min, differ + 4);
    const cut = (hash: string) => (hash.length > length ? `${hash.slice(0, length)}…` : hash);
    return [cut(a), cut(b)];
}

/**
 * A whole message as a user should see it: line breaks and tabs kept, every other control or
 * bidi character escaped, and at most `maxChars` characters (the rest is counted, not shown).
 */
export function messageForUser(message: string, maxChars = MESSAGE_MAX_CHARS): string {
    const shown = message.length > maxChars ? head(message, maxChars) : message;
    const safe = escapeUnsafe(shown, true);
    return message.length > maxChars ? `${safe}… (${message.length - shown.length} more characters not shown)` : safe;
}
