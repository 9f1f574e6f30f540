"""Every prompt the lab trains with, in one place.

Gemma turn format (the base has no chat template in its metadata; the engine uses the same text):
    <start_of_turn>user\\n{instruction}\\n\\n{input}<end_of_turn>\\n<start_of_turn>model\\n
and the target is followed by <end_of_turn>. Single-task instructions are the ones of the paper's
lab (method.md); translation and composite instructions are this project's choice.
"""

from __future__ import annotations

TURN_TEMPLATE = "<start_of_turn>user\n{instruction}\n\n{input}<end_of_turn>\n<start_of_turn>model\n"
END_OF_TURN = "<end_of_turn>"
STOP_STRINGS = [END_OF_TURN]

LANGUAGE_NAMES = {"es": "Spanish", "fr": "French", "de": "German"}
TONE_NAMES = {"professional": "Professional", "casual": "Casual", "witty": "Witty"}

SINGLE_TASK_INSTRUCTIONS: dict[str, str] = {
    "summarize": "Summarize the following text:",
    "reply": "Suggest a reply for the following text:",
    **{f"translate:{c}": f"Translate the following text to {n}:" for c, n in LANGUAGE_NAMES.items()},
    **{
        f"tone:{t}": f"Changes a given user's input sentence or text to the '{n}' style:"
        for t, n in TONE_NAMES.items()
    },
    "tone:paraphrase": "Paraphrase the following text:",
}

MAIN_TASKS = ("summarize", "reply")
AUX_TASKS = tuple(k for k in SINGLE_TASK_INSTRUCTIONS if k not in MAIN_TASKS)
ALL_TASKS = tuple(SINGLE_TASK_INSTRUCTIONS)

# Composite instruction = main instruction with the auxiliary tasks as clauses before the colon:
# "Summarize the following text in French:", "Suggest a reply for the following text in a casual style:".
_AUX_CLAUSES = {
    **{f"translate:{c}": f"in {n}" for c, n in LANGUAGE_NAMES.items()},
    **{f"tone:{t}": f"in a {t} style" for t in TONE_NAMES},
    "tone:paraphrase": "paraphrased",
}


def split_chain(chain: str) -> list[str]:
    """'summarize+translate:fr' -> ['summarize', 'translate:fr'] (as engine/compose/taskChain.ts)."""
    tasks = [t.strip() for t in chain.replace(",", "+").split("+") if t.strip()]
    for t in tasks:
        if t not in SINGLE_TASK_INSTRUCTIONS:
            raise ValueError(f"unknown task {t!r}; known: {', '.join(ALL_TASKS)}")
    if not tasks:
        raise ValueError("empty task chain")
    if any(t in MAIN_TASKS for t in tasks[1:]):
        raise ValueError(f"a main task must come first: {chain!r}")
    if len(set(tasks)) != len(tasks) or sum(t.startswith("translate:") for t in tasks) > 1:
        raise ValueError(f"invalid chain {chain!r}")
    return tasks


def instruction(chain: str) -> str:
    tasks = split_chain(chain)
    if len(tasks) == 1:
        return SINGLE_TASK_INSTRUCTIONS[tasks[0]]
    head = SINGLE_TASK_INSTRUCTIONS[tasks[0]].rstrip(":")
    return head + " " + ", ".join(_AUX_CLAUSES[t] for t in tasks[1:]) + ":"


def prompt_template(chain: str) -> str:
    """The prompt with `{input}` exactly once (what manifests and calibrations record)."""
    return TURN_TEMPLATE.replace("{instruction}", instruction(chain))


def render_prompt(chain: str, text: str) -> str:
    return prompt_template(chain).replace("{input}", text)


def render_target(target: str) -> str:
    return target + END_OF_TURN


def file_key(chain: str) -> str:
    """Chain key as used in file names: '+' kept, ':' -> '-' (formats.md section 3)."""
    return "+".join(split_chain(chain)).replace(":", "-")
