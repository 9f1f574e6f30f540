// What the engine does after it starts, before anyone asks, so that the first request for a
// composite costs about what a warm switch costs (issue 17): node-llama-cpp's estimate of every
// context shape the pool can create (~450 ms each, once per process; llamaRuntime.ts), then the
// LoRA mix of every installed composite that runs fused (made once per machine, 200-250 ms and a
// 22 MB file each; verified, ~25 ms, at later starts; passLoras.ts). One step at a time, and each
// only while no request runs: a request that arrives waits for at most the step under way.

/** One piece of preparation; a failure is reported, and the request that needs it meets it again. */
export interface PreparationStep {
    readonly what: string;
    readonly run: () => Promise<unknown>;
}

export interface PreparedStep {
    readonly what: string;
    readonly ms: number;
    /** Why it failed; absent when it succeeded. */
    readonly error?: string;
}

export interface PreparationReport {
    readonly steps: readonly PreparedStep[];
    /** From the start to the last step, waits for requests included. */
    readonly totalMs: number;
    /** False when it was stopped (the engine closed, or the steps were replaced) before the end. */
    readonly finished: boolean;
}

/** Counts requests in flight; background work waits until there are none. */
export class IdleGate {
    private active = 0;
    private waiters: (() => void)[] = [];

    /** Marks a request in flight until the returned function is called (once). */
    enter(): () => void {
        this.active++;
        let left = false;
        return () => {
            if (left) return;
            left = true;
            this.active--;
            if (this.active > 0) return;
            const waiters = this.waiters;
            this.waiters = [];
            for (const wake of waiters) wake();
        };
    }

    get idle(): boolean {
        return this.active === 0;
    }

    whenIdle(): Promise<void> {
        if (this.active === 0) return Promise.resolve();
        return new Promise((resolve) => this.waiters.push(resolve));
    }
}

/**
 * Runs `steps` in order, each once `gate` is idle, until `signal` aborts (the engine closes, or
 * what is installed changed); a request that entered while a step waited goes first.
 */
export async function prepare(
    steps: readonly PreparationStep[],
    gate: IdleGate,
    signal: AbortSignal,
    onStep?: (step: PreparedStep) => void,
): Promise<PreparationReport> {
    const started = performance.now();
    const done: PreparedStep[] = [];
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), {once: true}));
    for (const step of steps) {
        while (!gate.idle && !signal.aborted) await Promise.race([gate.whenIdle(), aborted]);
        if (signal.aborted) return {steps: done, totalMs: performance.now() - started, finished: false};
        const stepStarted = performance.now();
        let error: string | undefined;
        try {
            await step.run();
        } catch (failure) {
            error = failure instanceof Error ? failure.message : String(failure);
        }
        const prepared = {what: step.what, ms: performance.now() - stepStarted, ...(error ? {error} : {})};
        done.push(prepared);
        onStep?.(prepared);
    }
    return {steps: done, totalMs: performance.now() - started, finished: true};
}
