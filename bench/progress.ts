// Progress on stderr: done/total, the item just finished, and an estimate of the time left.

export class Progress {
    private phase = "";
    private total = 0;
    private done_ = 0;
    private fresh = 0;
    private started = 0;

    constructor(private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)) {}

    start(phase: string, total: number, alreadyDone = 0): void {
        this.phase = phase;
        this.total = total;
        this.done_ = alreadyDone;
        this.fresh = 0;
        this.started = performance.now();
        this.write(`[${phase}] ${total} to do${alreadyDone > 0 ? `, ${alreadyDone} already in the cache` : ""}`);
    }

    tick(what: string): void {
        this.done_++;
        this.fresh++;
        const perItem = (performance.now() - this.started) / this.fresh;
        const left = Math.round((perItem * (this.total - this.done_)) / 1000);
        this.write(`[${this.phase} ${this.done_}/${this.total}] ${what} (about ${left} s left)`);
    }

    note(text: string): void {
        this.write(`[${this.phase || "bench"}] ${text}`);
    }

    done(): void {
        const seconds = ((performance.now() - this.started) / 1000).toFixed(1);
        this.write(`[${this.phase}] done: ${this.fresh} new in ${seconds} s`);
    }
}
