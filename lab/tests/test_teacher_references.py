"""`python -m lab.teacher references`: composite references for a new evaluation data set in one command
(the lab.eval.references work list, run through the teacher into any targets folder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lab import teacher
from lab.data.sources import read_targets

SMALL_GGUF = Path.home() / ".cache/composer-lc/models/gemma-3-270m-q4_k_m.gguf"
NODE_LLAMA = teacher.REPO / "node_modules" / "node-llama-cpp"


def write_dialogs(root: Path) -> None:
    rows = [
        {
            "fname": "new_1",
            "dialogue": "#Person1#: Lunch at noon?\n#Person2#: Yes.",
            "summary": "They meet at noon.",
        },
        {"fname": "new_2", "dialogue": "#Person1#: Is it raining?\n#Person2#: No.", "summary": "It is dry."},
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "dialogsum.new.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def meta(**over) -> dict:
    base = {
        "chain": "summarize+translate:fr",
        "built_as": "teacher applies translate:fr to the first human reference of summarize (as the paper)",
        "selection": "work list A",
        "teacher": "t.gguf",
        "teacher_file_sha256": "a" * 64,
        "system_prompt": teacher.SYSTEM_PROMPT,
        "user_prompt": teacher.TEACHER_INSTRUCTIONS["translate:fr"],
        "settings": {**teacher.SETTINGS},
    }
    return {**base, **over}


def test_a_targets_file_keeps_its_record_and_refuses_answers_of_another_teacher(tmp_path):
    path = tmp_path / "summarize+translate-fr.meta.json"
    teacher.record_meta(path, meta())
    teacher.record_meta(path, meta(selection="work list B", settings={**teacher.SETTINGS, "threads": 4}))
    teacher.record_meta(path, meta(selection="work list B"))  # the same addition is recorded once
    kept = json.loads(path.read_text())
    assert kept["selection"] == "work list A" and kept["settings"]["threads"] == teacher.SETTINGS["threads"]
    assert kept["added"] == [{"built_as": meta()["built_as"], "selection": "work list B"}]
    with pytest.raises(SystemExit, match=r"teacher_file_sha256, settings\.maxTokens differ"):
        teacher.record_meta(
            path, meta(teacher_file_sha256="b" * 64, settings={**teacher.SETTINGS, "maxTokens": 8})
        )
    assert json.loads(path.read_text()) == kept


def test_the_request_folder_depends_on_the_output_path_not_on_lab_targets(tmp_path):
    a, b = tmp_path / "x" / "k.jsonl", tmp_path / "y" / "k.jsonl"
    assert teacher.work_dir(a) != teacher.work_dir(b)
    assert teacher.work_dir(a).parent == teacher.REPO / "lab/runs/teacher"


@pytest.mark.skipif(
    not SMALL_GGUF.exists(), reason="the default base model is not downloaded (composer models fetch)"
)
@pytest.mark.skipif(
    shutil.which("node") is None or not NODE_LLAMA.exists(), reason="node / node_modules missing"
)
def test_references_command_runs_a_real_model_on_the_work_list_into_any_folder(tmp_path, capsys):
    """The real path end to end (node-llama-cpp, greedy), with the 270M base standing in for the 1.5B
    teacher and 8 tokens per answer, so it runs in seconds; what it writes must be what the benchmark's
    eval set (lab.eval.data) reads as references."""
    from lab.eval import data

    write_dialogs(tmp_path / "new-data")
    out = tmp_path / "refs"  # not under lab/targets
    argv = ["references", "--data-dir", str(tmp_path / "new-data"), "--targets-dir", str(out)]
    argv += ["--variants", "summarize+translate:fr", "--model", str(SMALL_GGUF), "--max-tokens", "8"]
    teacher.main(argv)
    report = json.loads(capsys.readouterr().out)["summarize+translate:fr"]
    assert report["requested"] == 2 and report["file"] == str(out / "summarize+translate-fr.jsonl")

    lines = [json.loads(x) for x in (out / "summarize+translate-fr.jsonl").read_text().splitlines()]
    assert sorted(x["id"] for x in lines) == ["dialogsum:new_1", "dialogsum:new_2"]
    (request_file,) = teacher.work_dir(out / "summarize+translate-fr.jsonl").glob("request-*.json")
    request = json.loads(request_file.read_text())
    assert {j["id"]: j["text"] for j in request["jobs"]} == {
        "dialogsum:new_1": "They meet at noon.",
        "dialogsum:new_2": "It is dry.",
    }
    m = json.loads((out / "summarize+translate-fr.meta.json").read_text())
    assert m["teacher"] == "gemma-3-270m-q4_k_m.gguf (not the pinned teacher)"
    assert m["teacher_file_sha256"] == teacher.sha256_file(SMALL_GGUF) and m["settings"]["maxTokens"] == 8
    assert str(tmp_path / "new-data") in m["selection"]
    installed = json.loads((NODE_LLAMA / "package.json").read_text())["version"]
    assert m["runtime"].startswith(f"node-llama-cpp {installed} (the engine's)"), m["runtime"]

    targets = read_targets(out / "summarize+translate-fr.jsonl")
    assert report["written"] == len(targets)
    built = data.build(None, 1234, tmp_path / "new-data", out, ["summarize+translate:fr"])
    assert built["references"]["summarize+translate:fr"]["covered"] == len(targets)
    assert built["references"]["summarize+translate:fr"]["sha256"] == teacher.sha256_file(
        out / "summarize+translate-fr.jsonl"
    )

    teacher.main(argv)  # a rerun resumes: answered ids are not asked again
    again = json.loads(capsys.readouterr().out)["summarize+translate:fr"]
    assert again["requested"] == 2 - len(targets)
    assert len((out / "summarize+translate-fr.jsonl").read_text().splitlines()) == 2
    shutil.rmtree(teacher.work_dir(out / "summarize+translate-fr.jsonl"))
