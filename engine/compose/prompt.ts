import {type AuxTaskId, chainTasks, type MainTaskId, type TaskChain, type TaskId} from "./taskChain";

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

// Single-task instructions, as in method.md (the lab trains with the same words).
const MAIN_INSTRUCTIONS: Record<MainTaskId, string> = {
    summarize: "Summarize the following text:",
    reply: "Suggest a reply for the following text:",
};

const AUX_INSTRUCTIONS: Record<AuxTaskId, string> = {
    "translate:es": "Translate the following text to Spanish:",
    "translate:fr": "Translate the following text to French:",
    "translate:de": "Translate the following text to German:",
    "tone:professional": "Changes a given user's input sentence or text to the 'Professional' style:",
    "tone:casual": "Changes a given user's input sentence or text to the 'Casual' style:",
    "tone:witty": "Changes a given user's input sentence or text to the 'Witty' style:",
    "tone:paraphrase": "Paraphrase the following text:",
};

// How an auxiliary task modifies a composite instruction, as a clause before the colon:
// "Summarize the following text in French:". The lab (lab/prompts.py) uses the same words.
const AUX_CLAUSES: Record<AuxTaskId, string> = {
    "translate:es": "in Spanish",
    "translate:fr": "in French",
    "translate:de": "in German",
    "tone:professional": "in a professional style",
    "tone:casual": "in a casual style",
    "tone:witty": "in a witty style",
    "tone:paraphrase": "paraphrased",
};

export function taskInstruction(task: TaskId): string {
    return task === "summarize" || task === "reply" ? MAIN_INSTRUCTIONS[task] : AUX_INSTRUCTIONS[task];
}

/** One instruction for the whole chain, e.g. "Summarize the following text in French:". */
export function chainInstruction(chain: TaskChain): string {
    const [first, ...rest] = chainTasks(chain);
    if (first === undefined) throw new PromptTemplateError("Empty chain.");
    if (rest.length === 0) return taskInstruction(first);
    const head = taskInstruction(first).replace(/:$/, "");
    return `${head} ${rest.map((task) => AUX_CLAUSES[task as AuxTaskId]).join(", ")}:`;
}

/** The base model's turn format: Gemma's, which the lab trains every adapter with. */
export const GEMMA_TURN = {
    wrap: (instruction: string): string =>
        `<start_of_turn>user\n${instruction}\n\n${INPUT_SLOT}<end_of_turn>\n<start_of_turn>model\n`,
    stopStrings: ["<end_of_turn>"] as const,
};

export function chainPrompt(chain: TaskChain): PromptTemplate {
    return promptTemplate(GEMMA_TURN.wrap(chainInstruction(chain)), GEMMA_TURN.stopStrings);
}
