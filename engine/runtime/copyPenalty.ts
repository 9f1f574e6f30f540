// A logit penalty on copying the input word for word, for a reply that gave back its email's own
// words ("I'll try to get a final copy of the notes out to everyone on Monday." to the email that
// says so; compose/composer.ts, settleCopy). Sampling again wanders off the meaning; this stays
// greedy and lets the model copy a few tokens (names, numbers, "the"), then makes each further
// copied token cost more, as DRY does for the output's own phrases: the model leaves the input's
// wording where it has a near alternative, and keeps it where it has none. Only a token that starts
// a word pays (generate.ts): a penalised full stop after a copied ending made the model go on with
// text of its own (", as he has previously stated."), and a penalised piece of a word made it
// misspell the word. Built for the tone rewrites' sentences given back, where it is no longer used
// (docs/method.md).

import type {Token} from "node-llama-cpp";

export interface CopyPenaltyOptions {
    /** The logit penalty on the first copied token past `allowedLength`... */
    readonly strength: number;
    /** ...multiplied by this for each further one. */
    readonly base: number;
    /** Runs of the input up to this many tokens are copied for free. */
    readonly allowedLength: number;
}

/**
 * The logit penalty of each token that would extend a run of `source` that `generated` ends in,
 * by the length of that run: strength * base^(run - allowedLength) once run >= allowedLength.
 * A token that extends several runs gets the penalty of the longest; a `free` token (punctuation,
 * the rest of a word) none, though it counts in a run. O(source x run) per token.
 */
export function copyPenalties(
    source: readonly Token[],
    generated: readonly Token[],
    options: CopyPenaltyOptions,
    free: ReadonlySet<Token> = new Set(),
): Map<Token, number> {
    const penalties = new Map<Token, number>();
    for (let next = 1; next < source.length; next++) {
        // How many tokens before source[next] the output ends in.
        let run = 0;
        while (run < next && run < generated.length && source[next - 1 - run] === generated[generated.length - 1 - run])
            run++;
        if (run < options.allowedLength) continue;
        const token = source[next] as Token;
        if (free.has(token)) continue;
        const penalty = options.strength * options.base ** (run - options.allowedLength);
        if (penalty > (penalties.get(token) ?? 0)) penalties.set(token, penalty);
    }
    return penalties;
}
