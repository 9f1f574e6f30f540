// The resumable generation cache: one JSON line per generation, keyed by variant, method, a
// hash of the input TEXT and a hash of everything else that determines the output (model,
// adapter and calibration bytes, scales, prompts, token budget, decoding, the fused form of
// multi-LoRA passes). Keyed by content, not by input ids: ids repeat across data folders
// (Synthetic-Persona-Chat's "spc:<row>:<turn>" in every split), so an id-keyed cache served one
// split's outputs for another's inputs. A run appends as it goes; an interrupted run resumes by
// skipping keys already present. A torn last line is ignored.

import {createHash} from "node:crypto";
import {existsSync} from "node:fs";
import {appendFile, mkdir, readFile} from "node:fs/promises";
import {dirname} from "node:path";
import {FUSED_MIX_VERSION} from "../engine/calibrations/fusedMix";
import {passForm, STEPS_FALLBACK_CHECKS} from "../engine/compose/composer";
import {COPIED_REPLY_CHECK} from "../engine/compose/copying";
import {KEEPS_FACTS_VERSION} from "../engine/compose/facts";
import {LANGUAGE_CHECK_VERSION} from "../engine/compose/language";
import {REWRITE_READING, SUMMARY_READING} from "../engine/compose/length";
import {NEWEST_MESSAGE_VERSION, THREAD_PARTS_VERSION} from "../engine/compose/mailParts";
import type {Pass, Recipe} from "../engine/compose/recipe";
import {SIGN_OFF_VERSION} from "../engine/compose/signOff";
import type {Decoding} from "../engine/runtime/decoding";

export interface CachedPass {
    readonly does: string;
    readonly promptTokens: number;
    readonly generatedTokens: number;
    readonly stopReason: string;
    readonly promptMs: number;
    readonly decodeMs: number;
}

export interface CachedGeneration {
    readonly key: string;
    readonly variant: string;
    /** The method asked for ("auto" in the real-text section). */
    readonly method: string;
    /** The method the engine ran (what "auto" resolved to); absent in entries written before it was recorded. */
    readonly ranAs?: string;
    /** The input's id when it was generated (for reading the file; the key does not use it). */
    readonly id: string;
    readonly configHash: string;
    readonly text: string;
    readonly error: string | null;
    readonly passes: readonly CachedPass[];
    /** The engine's notes on the result (e.g. the method "auto" chose and why). */
    readonly notes?: readonly string[];
    /** The engine's word on whether the answer stopped at a token budget (absent before the engine said it). */
    readonly cutAtBudget?: boolean;
    readonly totalMs: number;
    readonly at: string;
}

/** A short hash of an input text: the part of the key that says which input was generated for. */
export function inputHash(input: string): string {
    return createHash("sha256").update(input, "utf8").digest("hex").slice(0, 16);
}

export function generationKey(variant: string, method: string, input: string, configHash: string): string {
    return `${variant}|${method}|${inputHash(input)}|${configHash}`;
}

/** The config hash inside a key (the key's last field). */
export function keyConfigHash(key: string): string {
    return key.slice(key.lastIndexOf("|") + 1);
}

/** A short hash of what decides a method's output for a variant (not the input). */
export function recipeConfigHash(
    recipe: Recipe,
    model: {fingerprint: string; sha256: string},
    /** The request's (or the engine's configured) limit; null: each pass's own budget, hashed with the pass. */
    maxTokens: number | null,
    decoding: Decoding,
): string {
    // Retries act only where a rewrite ran away: keyed with the rewrites, so other generations keep their keys.
    // Likewise the copy penalty, which acts only on a reply that copied its email.
    const {runawayRetries, copyPenalty, ...everyPassDecoding} = decoding;
    const describePass = (pass: Pass) => ({
        adapters: pass.adapters.map((use) => [use.adapter.sha256, use.scale]),
        calibration: pass.calibration?.sha256 ?? null,
        prompt: pass.prompt.template,
        stop: pass.prompt.stopStrings,
        budget: pass.budget,
        reads: pass.reads,
        // Present only for rewrites, so summaries and replies keep their keys.
        ...(pass.reads === "segments" ? {rewriteReading: REWRITE_READING} : {}),
        ...(pass.reads === "segments" && runawayRetries.length > 0 ? {runawayRetries} : {}),
        // Present only for tone rewrites into English, so translations keep their keys.
        ...(pass.keepsFacts ? {keepsFacts: KEEPS_FACTS_VERSION} : {}),
        // A fused pass computes the same sum in another float order, which can flip a greedy
        // near-tie. Present only where a pass is fused, so other generations keep their keys.
        ...(passForm(pass, "fused") === "fused" ? {form: FUSED_MIX_VERSION} : {}),
    });
    const description = {
        model,
        maxTokens,
        decoding: everyPassDecoding,
        passes: recipe.passes.map(describePass),
        chunkSummary: recipe.chunkSummary === null ? null : describePass(recipe.chunkSummary),
        // Only a recipe that can summarize in parts (a long text, a thread's writers: composer.ts)
        // reads by these rules.
        ...(recipe.chunkSummary === null ? {} : {summaryReading: SUMMARY_READING, threadParts: THREAD_PARTS_VERSION}),
        // Present only where "auto" may translate an English answer, so other recipes keep their keys.
        ...(recipe.languageRepair === null
            ? {}
            : {languageRepair: describePass(recipe.languageRepair), languageCheck: LANGUAGE_CHECK_VERSION}),
        // Likewise where "auto" may write a failed one-pass summary again in several passes.
        ...(recipe.stepsFallback === null
            ? {}
            : {stepsFallback: recipe.stepsFallback.map(describePass), fallbackChecks: STEPS_FALLBACK_CHECKS}),
        // Present only for replies: a reply reads the email's newest message, a copied reply is
        // written again with the copy penalty, and the answer loses a borrowed sign-off name
        // (mailParts.ts, copying.ts, signOff.ts).
        ...(recipe.chain.main === "reply"
            ? {
                  newestMessage: NEWEST_MESSAGE_VERSION,
                  signOff: SIGN_OFF_VERSION,
                  copiedReply: COPIED_REPLY_CHECK,
                  copyPenalty,
              }
            : {}),
    };
    return createHash("sha256").update(JSON.stringify(description)).digest("hex").slice(0, 16);
}

export class GenerationCache {
    private constructor(
        readonly path: string,
        private readonly entries: Map<string, CachedGeneration>,
    ) {}

    static async open(path: string): Promise<GenerationCache> {
        const entries = new Map<string, CachedGeneration>();
        if (existsSync(path)) {
            for (const line of (await readFile(path, "utf8")).split("\n")) {
                if (line.trim() === "") continue;
                try {
                    const entry = JSON.parse(line) as CachedGeneration;
                    if (typeof entry.key === "string") entries.set(entry.key, entry);
                } catch {
                    // A line torn by an interrupted write: that generation is simply redone.
                }
            }
        } else {
            await mkdir(dirname(path), {recursive: true});
        }
        return new GenerationCache(path, entries);
    }

    get size(): number {
        return this.entries.size;
    }

    get(key: string): CachedGeneration | undefined {
        return this.entries.get(key);
    }

    async add(entry: CachedGeneration): Promise<void> {
        // Newline first: if the previous write was torn, this entry still gets a line of its own.
        await appendFile(this.path, `\n${JSON.stringify(entry)}`);
        this.entries.set(entry.key, entry);
    }
}
