// The linear module types that task adapters and calibrations target, named as in GGUF
// (PEFT: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj).

export const MODULE_TYPES = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] as const;

export type ModuleType = (typeof MODULE_TYPES)[number];

export function isModuleType(name: string): name is ModuleType {
    return (MODULE_TYPES as readonly string[]).includes(name);
}

/** The base weight a module type names in one layer, e.g. `blk.3.attn_q.weight`. */
export function baseTensorName(layer: number, moduleType: ModuleType): string {
    return `blk.${layer}.${moduleType}.weight`;
}
