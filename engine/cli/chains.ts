// `composer chains [chain] [--one-pass] [--json]`: how each chain runs with what is installed.
// The recipe builder decides (compose/recipe.ts chainCapability); this only prints it, from the
// installed files and the model's header, without loading the model.

import {parseArgs} from "node:util";
import {type ChainCapability, capabilities, chainCapability} from "../compose/recipe";
import {parseTaskChain} from "../compose/taskChain";
import {loadInventory} from "../inventory";
import {baseModel, stores} from "./artifacts";

/** "one pass (lc++)", "3 passes (multi-step)", "zero-shot: No adapter for ..." */
export function describeCapability(capability: ChainCapability): string {
    if (capability.onePass) return `one pass (${capability.method})`;
    const how = `${capability.passes} pass${capability.passes === 1 ? "" : "es"} (${capability.method})`;
    return capability.note === null ? how : `${how}: ${capability.note}`;
}

export async function chainsCommand(args: string[]): Promise<number> {
    const {values, positionals} = parseArgs({
        args,
        allowPositionals: true,
        options: {
            model: {type: "string"},
            "one-pass": {type: "boolean", default: false},
            json: {type: "boolean", default: false},
        },
    });
    const [only] = positionals;
    const chain = only === undefined ? undefined : parseTaskChain(only);
    const {adapters, calibrations} = stores();
    const inventory = await loadInventory(adapters, calibrations, await baseModel(values.model), (_, message) =>
        process.stderr.write(`warning: ${message}\n`),
    );
    const listed = (chain === undefined ? capabilities(inventory) : [chainCapability(chain, inventory)]).filter(
        (capability) => !values["one-pass"] || capability.onePass,
    );
    if (values.json) process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
    else process.stdout.write(listed.map((c) => `${c.chain}  ${describeCapability(c)}\n`).join(""));
    return 0;
}
