// The ways a chain can be run. All are selectable per request so they can be compared;
// "auto" picks the best one the installed artifacts allow (see recipe.ts).

import type {CalibrationKind} from "../calibrations/format";

export const METHODS = [
    "zero-shot",
    "main-lora",
    "aux-lora",
    "linear-merge",
    "multi-step",
    "joint-expert",
    "lc",
    "lc++",
] as const;

export type Method = (typeof METHODS)[number];
export type MethodChoice = Method | "auto";
export type {CalibrationKind};

export function isMethod(text: string): text is Method {
    return (METHODS as readonly string[]).includes(text);
}

export function parseMethodChoice(text: string): MethodChoice {
    if (text === "auto" || isMethod(text)) return text;
    throw new Error(`Unknown method "${text}". Known methods: auto, ${METHODS.join(", ")}.`);
}
