"""The engine and the lab read one task file (engine/compose/tasks.json). The round trip: the engine's own
TypeScript (lab/node/chain_prompts.mjs, bundled by esbuild) lists what it makes of every chain a user can
build, and lab.prompts must make the same of each: key, calibration file names and prompt, byte for byte.
(test/unit/taskSpec.test.ts pins those prompts to the ones the bundled pack was trained with.)"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.export.calibration import calibration_filename
from lab.prompts import (
    ALL_TASKS,
    AUX_TASKS,
    LANGUAGE_NAMES,
    MAIN_TASKS,
    STOP_STRINGS,
    TASK_SPEC,
    _load_spec,
    chain_key,
    prompt_template,
    split_chain,
)

REPO = Path(__file__).resolve().parents[2]
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / "node_modules/esbuild").exists(),
    reason="node or node_modules (esbuild) missing: the engine's side cannot be rendered",
)


@pytest.fixture(scope="module")
def engine() -> dict:
    out = subprocess.run(
        ["node", "lab/node/chain_prompts.mjs"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@needs_node
def test_the_same_tasks_in_the_same_order(engine):
    assert list(MAIN_TASKS) == engine["mainTasks"]
    assert list(AUX_TASKS) == engine["auxTasks"]
    assert list(ALL_TASKS) == engine["allTasks"]
    assert engine["languageNames"] == LANGUAGE_NAMES


@needs_node
def test_every_chain_gets_the_same_key_file_names_and_prompt(engine):
    chains = engine["chains"]
    assert len(chains) >= 100, len(chains)  # 191 with 2 main tasks, 4 tones and 3 languages
    differ = []
    for c in chains:
        lab = {
            "key": chain_key(c["key"]),
            "reversedInputKey": chain_key(c["reversedInput"]),
            "calibrationFiles": {kind: calibration_filename(c["key"], kind) for kind in ("lc", "lc++")},
            "promptTemplate": prompt_template(c["key"]),
            "stopStrings": STOP_STRINGS,
        }
        differ += [(c["key"], field, c[field], value) for field, value in lab.items() if c[field] != value]
    assert not differ, differ[:5]


@needs_node
def test_the_same_inputs_are_no_chain(engine):
    assert engine["notChains"], "the engine listed inputs it refuses"
    for text, engine_error in engine["notChains"].items():
        assert engine_error is not None, f"the engine accepts {text!r}"
        with pytest.raises(ValueError):
            split_chain(text)


def test_a_missing_task_file_says_where_the_lab_looks(tmp_path):
    with pytest.raises(FileNotFoundError, match="tasks.json is missing.*checkout of the whole repository"):
        _load_spec(tmp_path / "tasks.json")


def test_a_task_without_its_clause_is_named(tmp_path):
    spec = json.loads(TASK_SPEC.read_text(encoding="utf-8"))
    del spec["auxTasks"]["tone:witty"]["clause"]
    (tmp_path / "tasks.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ValueError, match=r"auxTasks\.tone:witty lacks clause"):
        _load_spec(tmp_path / "tasks.json")
