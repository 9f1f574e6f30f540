// Where a result goes, decided in one place. A reply answers the selected text, so it lands below
// it and the email stays; a summary, translation or tone rewrite stands in for the selection and
// replaces it. Either way the user reviews a diff first (the text as it will read) unless the
// `composer.outputMode` setting asks to apply at once. Pure (no VS Code), so it is unit tested.

import type {TaskChain} from "../../engine/compose/taskChain";

/** The `composer.outputMode` setting: "auto" follows the task; the others override it for every task. */
export const OUTPUT_MODES = ["auto", "review", "replace", "insertBelow", "newDocument"] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

/** Where the text lands. */
export type Placement = "replace" | "insertBelow" | "newDocument";

export interface OutputPlan {
    readonly placement: Placement;
    /** A diff is shown first and nothing changes before Accept. */
    readonly review: boolean;
}

/** The task's own place for its result: a drafted answer goes below what it answers. */
export function taskPlacement(chain: TaskChain): "replace" | "insertBelow" {
    return chain.main === "reply" ? "insertBelow" : "replace";
}

export interface OutputTarget {
    /** False when the document's file system is read-only: the result then opens as a new document. */
    readonly editable: boolean;
    /** The builder panel shows every result for review, whatever the setting says. */
    readonly alwaysReview?: boolean;
}

export function planOutput(mode: OutputMode, chain: TaskChain, target: OutputTarget): OutputPlan {
    // Nothing can be written where the text is: a new document loses nothing and is itself the review.
    if (!target.editable) return {placement: "newDocument", review: false};
    const reviewed = (placement: "replace" | "insertBelow") => ({placement, review: true});
    switch (mode) {
        case "auto":
            return reviewed(taskPlacement(chain));
        case "review":
            // The setting's meaning before replies had their own place: every result replaces the selection.
            return reviewed("replace");
        case "replace":
        case "insertBelow":
            return target.alwaysReview ? reviewed(mode) : {placement: mode, review: false};
        case "newDocument":
            return target.alwaysReview ? reviewed(taskPlacement(chain)) : {placement: "newDocument", review: false};
    }
}

export type EndOfLine = "\n" | "\r\n";

/** An insertion: `text` goes in at `offset` of the document. */
export interface Insertion {
    readonly offset: number;
    readonly text: string;
}

/**
 * Where "below the selection" is: after the end of the selection's last line, as a new paragraph
 * (a blank line between). A selection of whole lines ends at the start of the next line; its last
 * line is the one before, so the reply follows the email instead of an extra empty line.
 */
export function insertionBelow(
    document: string,
    selection: {readonly start: number; readonly end: number},
    addition: string,
    eol: EndOfLine,
): Insertion {
    let end = selection.end;
    if (end > selection.start && document.endsWith("\n", end)) end -= document.endsWith("\r\n", end) ? 2 : 1;
    const newline = document.indexOf("\n", end);
    let offset = newline === -1 ? document.length : newline;
    if (offset > end && document[offset - 1] === "\r") offset--;
    return {offset, text: `${eol}${eol}${addition}`};
}

/** Why a selection cannot be worked on, or null when it can. */
export type EmptyInput = "empty-document" | "whitespace-selection" | null;

export function emptyInput(text: string, wholeDocument: boolean): EmptyInput {
    if (text.trim() !== "") return null;
    return wholeDocument ? "empty-document" : "whitespace-selection";
}
