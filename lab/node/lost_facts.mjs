// The engine's own check of a tone rewrite (engine/compose/facts.ts, lostFact) for the lab's filter
// of training pairs (lab/lab/data/sources.py, `engine_lost_facts`): a pair whose rewrite the engine
// would give back as written is no pair to learn from. One check, so the two cannot drift apart.
// Usage (from anywhere): node lab/node/lost_facts.mjs < pairs.json
//   stdin: [[source, rewrite], ...]; stdout: [reason or null, ...], in the same order.
import {readFileSync} from "node:fs";
import {engineModule} from "./engine_module.mjs";

const {lostFact} = await engineModule('export {lostFact} from "./engine/compose/facts";', "lost-facts");
const pairs = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(`${JSON.stringify(pairs.map(([source, rewrite]) => lostFact(source, rewrite)))}\n`);
