// Streaming text that must end before a stop string the model may produce piece by piece.

/** Streams text while holding back any tail that could still become a stop string. */
export class StopStringFilter {
    private emitted = 0;
    constructor(private readonly stopStrings: readonly string[]) {}

    /**
     * Returns the text to emit now and whether a stop string was found. `holdFrom`: text from
     * this offset on is not emitted yet (it may still be taken back).
     */
    push(fullText: string, holdFrom = fullText.length): {final: string; emit: string; stopped: boolean} {
        for (const stop of this.stopStrings) {
            const at = fullText.indexOf(stop);
            if (at >= 0) {
                const final = fullText.slice(0, at);
                const emit = final.slice(this.emitted);
                this.emitted = final.length;
                return {final, emit, stopped: true};
            }
        }
        let safeEnd = Math.min(fullText.length, holdFrom);
        for (const stop of this.stopStrings) {
            for (let keep = Math.min(stop.length - 1, fullText.length); keep > 0; keep--) {
                if (stop.startsWith(fullText.slice(fullText.length - keep))) {
                    safeEnd = Math.min(safeEnd, fullText.length - keep);
                    break;
                }
            }
        }
        // A trailing U+FFFD is half of a multi-byte character still being decoded.
        while (safeEnd > this.emitted && fullText.charCodeAt(safeEnd - 1) === 0xfffd) safeEnd--;
        const emit = safeEnd > this.emitted ? fullText.slice(this.emitted, safeEnd) : "";
        this.emitted = Math.max(this.emitted, safeEnd);
        return {final: fullText, emit, stopped: false};
    }

    flush(fullText: string): string {
        const rest = fullText.slice(this.emitted);
        this.emitted = fullText.length;
        return rest;
    }
}
