"""Every prompt the lab trains with, from the file the engine reads too: engine/compose/tasks.json
(task ids, the Gemma turn format, each task's instruction and composite clause; docs/formats.md
section 6). This module applies the chain rules of engine/compose/taskChain.ts and prompt.ts to it;
lab/tests/test_task_spec.py checks that both halves make the same of every chain. A training target
is followed by the end-of-turn marker. Single-task instructions are the ones of the paper's lab
(docs/method.md); translation and composite instructions are this project's choice.
"""

from __future__ import annotations

import json
from pathlib import Path

TASK_SPEC = Path(__file__).resolve().parents[2] / "engine" / "compose" / "tasks.json"


def _load_spec(path: Path) -> dict:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} is missing. The lab reads its task ids and prompts from the engine's task file, so it "
            "must run from a checkout of the whole repository (lab/setup.sh installs it editable there)."
        ) from None
    for group, fields in (("mainTasks", ("instruction",)), ("auxTasks", ("instruction", "clause"))):
        for task, entry in spec[group].items():
            needed = (*fields, "language") if task.startswith("translate:") else fields
            missing = [f for f in needed if not isinstance(entry.get(f), str)]
            if missing:
                raise ValueError(f"{path}: {group}.{task} lacks {', '.join(missing)}")
            if not entry["instruction"].endswith(":"):
                raise ValueError(f"{path}: {group}.{task}.instruction must end with ':' (clauses go before)")
    return spec


_SPEC = _load_spec(TASK_SPEC)

TURN_TEMPLATE: str = _SPEC["turn"]["template"]
END_OF_TURN: str = _SPEC["turn"]["endOfTurn"]
STOP_STRINGS = [END_OF_TURN]

MAIN_TASKS: tuple[str, ...] = tuple(_SPEC["mainTasks"])
AUX_TASKS: tuple[str, ...] = tuple(_SPEC["auxTasks"])
ALL_TASKS = MAIN_TASKS + AUX_TASKS
SINGLE_TASK_INSTRUCTIONS: dict[str, str] = {
    task: entry["instruction"] for group in ("mainTasks", "auxTasks") for task, entry in _SPEC[group].items()
}
LANGUAGE_NAMES: dict[str, str] = {
    task.removeprefix("translate:"): entry["language"]
    for task, entry in _SPEC["auxTasks"].items()
    if task.startswith("translate:")
}
# Composite instruction = main instruction with the auxiliary tasks as clauses before the colon:
# "Summarize the following text in French:", "Suggest a reply for the following text in a casual style:".
_AUX_CLAUSES: dict[str, str] = {task: entry["clause"] for task, entry in _SPEC["auxTasks"].items()}


def split_chain(chain: str) -> list[str]:
    """'summarize+translate:fr' -> ['summarize', 'translate:fr'], with the rules and the canonical order of
    engine/compose/taskChain.ts: a main task only first, no repeats, one language at most, and tones before
    the translation ('translate:fr+tone:casual' -> ['tone:casual', 'translate:fr'], one key per set of tasks)."""
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
    main = tasks[:1] if tasks[0] in MAIN_TASKS else []
    aux = tasks[len(main) :]
    translations = [t for t in aux if t.startswith("translate:")]
    return main + [t for t in aux if t not in translations] + translations


def instruction(chain: str) -> str:
    tasks = split_chain(chain)
    if len(tasks) == 1:
        return SINGLE_TASK_INSTRUCTIONS[tasks[0]]
    head = SINGLE_TASK_INSTRUCTIONS[tasks[0]].removesuffix(":")
    return head + " " + ", ".join(_AUX_CLAUSES[t] for t in tasks[1:]) + ":"


def prompt_template(chain: str) -> str:
    """The prompt with `{input}` exactly once (what manifests and calibrations record)."""
    return TURN_TEMPLATE.replace("{instruction}", instruction(chain))


def render_prompt(chain: str, text: str) -> str:
    return prompt_template(chain).replace("{input}", text)


def render_target(target: str) -> str:
    return target + END_OF_TURN


def chain_key(chain: str) -> str:
    """The canonical key, as the engine writes it: 'translate:fr+tone:casual' -> 'tone:casual+translate:fr'."""
    return "+".join(split_chain(chain))


def file_key(chain: str) -> str:
    """Chain key as used in file names: '+' kept, ':' -> '-' (formats.md section 3)."""
    return chain_key(chain).replace(":", "-")
