// What the engine makes of every chain a user can build, as JSON on stdout: the task lists, each
// chain's key, the key it gets when its auxiliary tasks are given in reverse, its calibration file
// names and its prompt; and the engine's error for inputs that are no chain. lab/tests/test_task_spec.py
// compares all of it with lab/lab/prompts.py, so the two halves cannot drift apart unnoticed.
// The engine's TypeScript is bundled in memory by esbuild (node_modules, no build needed).
// Usage (from anywhere): node lab/node/chain_prompts.mjs
import {engineModule} from "./engine_module.mjs";

const entry = `
import {calibrationFileName} from "./engine/calibrations/format";
import {chainPrompt} from "./engine/compose/prompt";
import {everyChain} from "./engine/compose/recipe";
import {ALL_TASKS, AUX_TASKS, chainKey, chainTasks, LANGUAGE_NAMES, MAIN_TASKS, parseTaskChain} from "./engine/compose/taskChain";

const NOT_CHAINS = ["", "summarise", "translate:it", "translate:fr+summarize", "summarize+reply",
    "reply+tone:witty+tone:witty", "summarize+translate:fr+translate:de"];

function rejection(text) {
    try {
        parseTaskChain(text);
        return null;
    } catch (error) {
        return String(error.message);
    }
}

export const result = {
    mainTasks: MAIN_TASKS,
    auxTasks: AUX_TASKS,
    allTasks: ALL_TASKS,
    languageNames: LANGUAGE_NAMES,
    chains: everyChain().map((chain) => {
        const reversed = [...(chain.main === null ? [] : [chain.main]), ...[...chain.aux].reverse()];
        const prompt = chainPrompt(chain);
        return {
            tasks: chainTasks(chain),
            key: chainKey(chain),
            reversedInput: reversed.join("+"),
            reversedInputKey: chainKey(parseTaskChain(reversed.join("+"))),
            calibrationFiles: {lc: calibrationFileName(chain, "lc"), "lc++": calibrationFileName(chain, "lc++")},
            promptTemplate: prompt.template,
            stopStrings: prompt.stopStrings,
        };
    }),
    notChains: Object.fromEntries(NOT_CHAINS.map((text) => [text, rejection(text)])),
};
`;

const {result} = await engineModule(entry, "chain-prompts");
process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
