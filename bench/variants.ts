// The 14 composite variants of the paper's benchmark (main task x auxiliary task) and the
// groups Table 1 averages over.

import {
    AUX_TASKS,
    type ChainKey,
    chainKey,
    MAIN_TASKS,
    parseTaskChain,
    type TaskChain,
} from "../engine/compose/taskChain";

export const GROUPS = ["Sum+Tr", "Sum+Tone", "Rep+Tr", "Rep+Tone"] as const;
export type Group = (typeof GROUPS)[number];

export interface Variant {
    readonly key: ChainKey;
    readonly chain: TaskChain;
    readonly group: Group;
}

export function groupOf(chain: TaskChain): Group {
    const aux = chain.aux[0] ?? "";
    const translate = aux.startsWith("translate:");
    if (chain.main === "summarize") return translate ? "Sum+Tr" : "Sum+Tone";
    return translate ? "Rep+Tr" : "Rep+Tone";
}

export const VARIANTS: readonly Variant[] = MAIN_TASKS.flatMap((main) =>
    AUX_TASKS.map((aux) => {
        const chain = parseTaskChain(`${main}+${aux}`);
        return {key: chainKey(chain), chain, group: groupOf(chain)};
    }),
);

/**
 * The quick mode's selection: a summary variant (ROUGE-L; its pack gets a joint expert, so all 8
 * methods run) and a reply variant (weighted ROUGE, plus chrF on XDailyDialog's human German).
 */
export const QUICK_VARIANTS: readonly ChainKey[] = ["summarize+translate:fr", "reply+translate:de"] as ChainKey[];

export function parseVariants(text: string): ChainKey[] {
    return text.split(",").map((part) => {
        const key = chainKey(parseTaskChain(part.trim()));
        if (!VARIANTS.some((v) => v.key === key))
            throw new Error(
                `"${part}" is not one of the 14 composite variants: ${VARIANTS.map((v) => v.key).join(", ")}`,
            );
        return key;
    });
}
