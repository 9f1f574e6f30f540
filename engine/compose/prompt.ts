import {chainTasks, isMainTask, type TaskChain, type TaskId} from "./taskChain";
import spec from "./tasks.json";

/** A prompt with exactly one `{input}` slot; the text around it may hold special tokens. */
export interface PromptTemplate {
    readonly template: string;
    readonly stopStrings: readonly string[];
}

export const INPUT_SLOT = "{input}";

export class PromptTemplateError extends Error {
    override name = "PromptTemplateError";
}

export function promptTemplate(template: string, stopStrings: readonly string[] = []): PromptTemplate {
    const slots = template.split(INPUT_SLOT).length - 1;
    if (slots !== 1)
        throw new PromptTemplateError(`A prompt template needs "${INPUT_SLOT}" exactly once, found it ${slots} times.`);
    return {template, stopStrings};
}

/**
 * The two sides of the input slot. They are tokenized with special tokens enabled while the
 * user's text is not, so a selection that happens to contain "<end_of_turn>" stays plain text.
 */
export function splitTemplate(prompt: PromptTemplate): {before: string; after: string} {
    const at = prompt.template.indexOf(INPUT_SLOT);
    return {before: prompt.template.slice(0, at), after: prompt.template.slice(at + INPUT_SLOT.length)};
}

/** A task's own instruction (tasks.json, the words the lab trains with), e.g. "Summarize the following text:". */
export function taskInstruction(task: TaskId): string {
    return isMainTask(task) ? spec.mainTasks[task].instruction : spec.auxTasks[task].instruction;
}

/**
 * One instruction for the whole chain: the first task's, with each further task's clause before
 * the colon, e.g. "Summarize the following text in French:" (lab/lab/prompts.py builds the same).
 */
export function chainInstruction(chain: TaskChain): string {
    const [first] = chainTasks(chain);
    if (first === undefined) throw new PromptTemplateError("Empty chain.");
    const further = chain.main === null ? chain.aux.slice(1) : chain.aux;
    if (further.length === 0) return taskInstruction(first);
    const head = taskInstruction(first).replace(/:$/, "");
    return `${head} ${further.map((task) => spec.auxTasks[task].clause).join(", ")}:`;
}

/** The base model's turn format: Gemma's, which the lab trains every adapter with. */
export const GEMMA_TURN = {
    wrap: (instruction: string): string => spec.turn.template.split("{instruction}").join(instruction),
    stopStrings: [spec.turn.endOfTurn] as const,
};

export function chainPrompt(chain: TaskChain): PromptTemplate {
    return promptTemplate(GEMMA_TURN.wrap(chainInstruction(chain)), GEMMA_TURN.stopStrings);
}
