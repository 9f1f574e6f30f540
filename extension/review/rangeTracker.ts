// Follows the selection a proposal was made for while the user keeps editing: edits before it
// shift it, edits inside it (or touching it) mean the proposal no longer fits and Accept must
// not overwrite anything. Pure (offsets only) so it is tested without VS Code.

export interface OffsetRange {
    readonly start: number;
    readonly end: number;
}

/** One content change as VS Code reports it: the replaced span (old offsets) and its new text. */
export interface OffsetChange {
    readonly rangeOffset: number;
    readonly rangeLength: number;
    readonly text: string;
}

export type TrackedRange =
    | {readonly state: "intact"; readonly range: OffsetRange}
    | {readonly state: "changed"; readonly reason: string};

export function trackRange(range: OffsetRange, changes: readonly OffsetChange[]): TrackedRange {
    let {start, end} = range;
    // VS Code lists the changes of one event against the document before the event, sorted from
    // last to first; apply them last-first so earlier offsets stay valid.
    const ordered = [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset);
    for (const change of ordered) {
        const changeEnd = change.rangeOffset + change.rangeLength;
        if (changeEnd <= start) {
            // Wholly before the range (an insertion right at its start included): shift it.
            const delta = change.text.length - change.rangeLength;
            start += delta;
            end += delta;
        } else if (change.rangeOffset >= end) {
            // Wholly after it (an insertion right at its end included): nothing moves.
        } else {
            return {state: "changed", reason: "the text under the selection was edited"};
        }
    }
    return {state: "intact", range: {start, end}};
}

/** Follows a range over many change events; once changed it stays changed. */
export class RangeTracker {
    private current: TrackedRange;

    constructor(range: OffsetRange) {
        this.current = {state: "intact", range};
    }

    apply(changes: readonly OffsetChange[]): void {
        if (this.current.state === "intact") this.current = trackRange(this.current.range, changes);
    }

    invalidate(reason: string): void {
        this.current = {state: "changed", reason};
    }

    get value(): TrackedRange {
        return this.current;
    }
}
