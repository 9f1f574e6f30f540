// The real engine process on the default model, with its own scratch folders, for the fault
// suite: one thread, a small context and a few tokens, since every accepted mutant is composed once.

import {join} from "node:path";
import type {MethodChoice} from "../../../engine/compose/methods";
import {parseTaskChain} from "../../../engine/compose/taskChain";
import {engineConfig, packIn} from "../../../engine/config";
import type {EngineConfig} from "../../../engine/engine";
import {EngineClient} from "../../../engine/isolation/engineClient";
import {repoRoot} from "../../support/realModel";
import {messageProblem, withTimeout} from "./verdict";

export const FAULT_INPUT = "Hi Sam, can you send me the budget figures before Thursday's meeting? Thanks, Alex";
export const COMPOSE_TIMEOUT_MS = 90_000;

export function faultEngineConfig(modelPath: string, work: string): EngineConfig {
    return engineConfig(modelPath, packIn(work, {calibrationDirs: [join(work, "calibrations")]}), {
        threads: 1,
        contextSize: 256,
        maxContexts: 1,
        maxTokens: 4,
    });
}

export function faultEngine(config: EngineConfig, errors: string[]): EngineClient {
    return new EngineClient({
        hostScript: join(repoRoot(), "dist", "engine-host.js"),
        config,
        onLog: (level, message) => {
            if (level === "error") errors.push(message);
        },
    });
}

export type Composed =
    | {readonly ok: true; readonly text: string; readonly method: string}
    | {readonly ok: false; readonly problem: string; readonly error: unknown};

/** One composition that must work: text, no error, the expected method, within the time limit. */
export async function composeOnce(
    client: EngineClient,
    chain: string,
    method: MethodChoice,
    expectMethod: string,
): Promise<Composed> {
    try {
        await withTimeout(client.refresh(), COMPOSE_TIMEOUT_MS, "refresh");
        const result = await withTimeout(
            client.compose({chain: parseTaskChain(chain), method, input: FAULT_INPUT, maxTokens: 4}),
            COMPOSE_TIMEOUT_MS,
            "compose",
        );
        if (result.method !== expectMethod)
            return {
                ok: false,
                problem: `ran ${result.method}, not ${expectMethod} (${result.notes.join("; ")})`,
                error: null,
            };
        if (result.text.trim() === "")
            return {
                ok: false,
                problem: `accepted, but the composition produced empty text (${result.passes.length} pass)`,
                error: null,
            };
        return {ok: true, text: result.text, method: result.method};
    } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        const problem = messageProblem(error instanceof Error ? error.message : String(error));
        return {
            ok: false,
            problem: `accepted, but composing failed: ${message.slice(0, 500)}${problem ? ` [${problem}]` : ""}`,
            error,
        };
    }
}
